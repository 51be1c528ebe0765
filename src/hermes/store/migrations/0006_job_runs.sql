-- A cron job's run for one slot (the time it was due) while it is going on: claimed by the replica that
-- runs it, then its answer, then each chunk as it is posted. A replica taking over after a crash finishes
-- the same run from here: it posts what is left of the same answer instead of asking the model again.
-- Recording the run's outcome on the job removes the row.
CREATE TABLE job_runs (
    job_id     TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    slot       REAL NOT NULL,
    claimed_at REAL NOT NULL,
    status     TEXT CHECK (status IN ('ok', 'error')),
    error      TEXT,
    message    TEXT,
    sent       TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (job_id, slot)
);
