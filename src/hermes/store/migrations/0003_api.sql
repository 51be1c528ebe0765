-- What the API server keeps: stored Responses (`/v1/responses`), named client keys, and what it knows of
-- its sessions beyond the transcript (who opened one, its title, what it was forked from).

CREATE TABLE api_responses (
    id            TEXT PRIMARY KEY,
    owner         TEXT NOT NULL,
    -- The API session id the response's run used (hub key api_server:session:<id>), and how many messages
    -- that session's transcript held right after it: a chain continued from an older response forks there.
    session_id    TEXT NOT NULL,
    message_count INTEGER NOT NULL,
    instructions  TEXT,
    conversation  TEXT,
    status        TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_at    REAL NOT NULL,
    accessed_at   REAL NOT NULL
);
CREATE INDEX api_responses_accessed ON api_responses (accessed_at);
CREATE INDEX api_responses_conversation ON api_responses (owner, conversation, created_at);

-- Only a hash of each key is kept; the key itself is shown once, when it is created.
CREATE TABLE api_keys (
    name        TEXT PRIMARY KEY,
    key_hash    TEXT NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,
    created_at  REAL NOT NULL,
    last_used_at REAL,
    revoked_at  REAL
);

-- session_id: the API session id (hub key api_server:session:<id>).
CREATE TABLE api_sessions (
    session_id  TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    title       TEXT,
    parent_id   TEXT,
    created_at  REAL NOT NULL
);
CREATE INDEX api_sessions_owner ON api_sessions (owner, created_at);
