-- Replicas sharing one PostgreSQL database take turns holding each chat platform's connection (and the
-- scheduler) through a lease. `token` grows at every change of holder and never goes back, so a holder
-- that lost its lease can be told apart from the current one (fencing).
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    token      INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    renewed_at REAL NOT NULL
) WITHOUT ROWID;

-- Every gateway process that ran on this database, and when it was last seen alive.
CREATE TABLE replicas (
    id         TEXT PRIMARY KEY,
    host       TEXT NOT NULL,
    pid        INTEGER NOT NULL,
    started_at REAL NOT NULL,
    seen_at    REAL NOT NULL
) WITHOUT ROWID;
