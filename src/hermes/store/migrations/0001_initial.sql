-- Times are Unix seconds (REAL). JSON columns hold compact JSON text.
-- Written for SQLite and PostgreSQL alike: see hermes.store.dialect for the rules.

CREATE TABLE sessions (
    id                      TEXT PRIMARY KEY,
    key                     TEXT NOT NULL,
    platform                TEXT NOT NULL,
    chat_id                 TEXT NOT NULL,
    created_at              REAL NOT NULL,
    updated_at              REAL NOT NULL,
    ended_at                REAL,
    model_override          TEXT,
    prompt_tokens           INTEGER NOT NULL DEFAULT 0,
    completion_tokens       INTEGER NOT NULL DEFAULT 0,
    message_count           INTEGER NOT NULL DEFAULT 0,
    summary                 TEXT,
    summary_upto_message_id INTEGER
);
-- At most one open session per key: "the current session" is never ambiguous.
CREATE UNIQUE INDEX sessions_open_key ON sessions (key) WHERE ended_at IS NULL;
CREATE INDEX sessions_key ON sessions (key, created_at);
CREATE INDEX sessions_updated ON sessions (updated_at);

-- AUTOINCREMENT so ids removed by /undo are never handed out again: ids order the transcript and
-- summary_upto_message_id points into it.
CREATE TABLE messages (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id        TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    role              TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    content           TEXT,
    tool_calls        TEXT,
    tool_call_id      TEXT,
    name              TEXT,
    model             TEXT,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    created_at        REAL NOT NULL,
    metadata          TEXT
);
CREATE INDEX messages_session ON messages (session_id, id);

-- Full-text search over message content.
-- dialect: sqlite
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    content,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.content IS NOT NULL BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.content IS NOT NULL BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content)
        SELECT 'delete', old.id, old.content WHERE old.content IS NOT NULL;
    INSERT INTO messages_fts (rowid, content)
        SELECT new.id, new.content WHERE new.content IS NOT NULL;
END;
-- dialect: postgresql
ALTER TABLE messages ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', coalesce(content, ''))) STORED;
CREATE INDEX messages_search ON messages USING gin (search);
-- dialect: all

CREATE TABLE cursors (
    platform   TEXT PRIMARY KEY,
    cursor     TEXT NOT NULL,
    updated_at REAL NOT NULL
) WITHOUT ROWID;

-- seq is the accept order; pending events are replayed in it.
CREATE TABLE inbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    platform    TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    payload     TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'skipped')),
    accepted_at REAL NOT NULL,
    finished_at REAL,
    reply_ids   TEXT,
    skip_reason TEXT,
    UNIQUE (platform, event_id)
);
CREATE INDEX inbox_pending ON inbox (seq) WHERE status = 'pending';
CREATE INDEX inbox_finished ON inbox (finished_at) WHERE status <> 'pending';

-- What was already sent for an event, so a replay after a crash does not post a chunk twice.
CREATE TABLE inbox_sent (
    platform   TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    chunk      INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    sent_at    REAL NOT NULL,
    PRIMARY KEY (platform, event_id, chunk),
    FOREIGN KEY (platform, event_id) REFERENCES inbox (platform, event_id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE jobs (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    schedule_kind  TEXT NOT NULL CHECK (schedule_kind IN ('cron', 'interval', 'once')),
    schedule_value TEXT NOT NULL,
    prompt         TEXT NOT NULL,
    target         TEXT NOT NULL,
    enabled        INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at     REAL NOT NULL,
    next_run_at    REAL,
    last_run_at    REAL,
    last_status    TEXT,
    last_error     TEXT,
    grace_seconds  INTEGER NOT NULL CHECK (grace_seconds >= 0)
);
CREATE INDEX jobs_due ON jobs (next_run_at) WHERE enabled = 1 AND next_run_at IS NOT NULL;

CREATE TABLE home_channels (
    platform  TEXT PRIMARY KEY,
    chat_id   TEXT NOT NULL,
    thread_id TEXT,
    set_by    TEXT,
    set_at    REAL NOT NULL
) WITHOUT ROWID;
