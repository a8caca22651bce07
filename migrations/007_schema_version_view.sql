-- 007: schema-version tracking, as the 2025-11-21 report recommended ("add schema_version to
-- the migrations table, validate it on app startup, fail fast if schema mismatch detected").
--
-- The recording itself is done by the runner: every applied migration is a row of
-- wfhist_migrations (version, file name, sha256, applied_at UTC, duration, wfhist version) and
-- PRAGMA user_version holds the highest applied version. What was missing is a stable, obvious
-- place for the service to check at startup without knowing about the runner. This migration
-- adds one read-only view:
--
--   SELECT version, name, applied_at, workflow_history_columns FROM schema_version;
--
-- one row: the latest applied migration, plus the column count the table has right now. The
-- service compares `version` with the version its code was written for and refuses to start
-- when they differ; the column count catches a hand-made ALTER that no migration recorded.
-- (wfhist's own fail-fast check, wfhist.check_schema, compares the full column list.)
--
-- A view stores no data and changes no row, so nothing can be lost; it always reflects the
-- runner's table, so it can never disagree with it. The runner creates wfhist_migrations in
-- the same transaction before it commits this migration.
CREATE VIEW schema_version AS
SELECT
    m.version AS version,
    m.name AS name,
    m.applied_at AS applied_at,
    (SELECT count(*) FROM pragma_table_info('workflow_history')) AS workflow_history_columns
FROM wfhist_migrations AS m
WHERE m.version = (SELECT max(version) FROM wfhist_migrations);
