-- 008: give the temporal columns the names application code uses, safely.
--
-- wfhist-opt-in: the running service still writes submission_hour/submission_day_of_week
-- through its compatibility mapping; deploy code that uses hour_of_day/day_of_week (or stop
-- the service) first, then run `wfhist migrate DB --to 8`.
--
-- This is what the historic 005 tried to do by rebuilding the table (and would have dropped 50
-- of 70 columns). ALTER TABLE ... RENAME COLUMN (SQLite >= 3.25; the runner checks) renames in
-- place: no row is copied, every value stays where it is, and SQLite rewrites the indexes that
-- use the columns. The two indexes are then renamed to match (SQLite has no RENAME INDEX: drop
-- and recreate, in this same transaction). Afterwards the reader's compatibility mapping is the
-- identity. The runner records the two renames, so verification matches the old columns to
-- the new names instead of reporting two dropped and two added columns.
ALTER TABLE workflow_history RENAME COLUMN submission_hour TO hour_of_day;
ALTER TABLE workflow_history RENAME COLUMN submission_day_of_week TO day_of_week;
DROP INDEX idx_submission_hour;
CREATE INDEX idx_hour_of_day ON workflow_history(hour_of_day);
DROP INDEX idx_submission_day_of_week;
CREATE INDEX idx_day_of_week ON workflow_history(day_of_week);
