-- With PostgreSQL, the files every replica must agree on (SOUL.md, memories/, skills/) live here and each
-- replica mirrors them into its HERMES_HOME. One row per revision of a file, newest revision wins; a NULL
-- content is a deletion. Revisions are numbered in the order they commit (writers take a table lock), so
-- "everything after revision N" misses nothing. SQLite keeps the files themselves: no table there.
-- dialect: postgresql
CREATE TABLE documents (
    revision   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    path       TEXT NOT NULL,
    content    TEXT,
    updated_at DOUBLE PRECISION NOT NULL,
    replica    TEXT NOT NULL
);
CREATE INDEX documents_by_path ON documents (path, revision);
-- Which database this is, for a replica that remembers what it mirrored from one: a database dropped and
-- created again under the same URL is another one.
CREATE TABLE documents_origin (id TEXT NOT NULL);
INSERT INTO documents_origin (id) VALUES (gen_random_uuid()::text);
-- dialect: all
