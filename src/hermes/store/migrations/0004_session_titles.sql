-- A short title per session, written by the title model after the first exchange (auxiliary.title_generation).
ALTER TABLE sessions ADD COLUMN title TEXT;
