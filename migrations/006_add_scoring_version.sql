-- 006: add scoring_version, the version of the scoring algorithm that computed a row's scores.
--
-- The same single statement the 2025-11-21 migration applied to the real file. Every existing
-- row reads '1.0' afterwards (the only algorithm that existed when they were scored); a later
-- algorithm writes '2.0' etc. Adding a nullable column with a constant default rewrites no row
-- and loses nothing. It cannot run twice ("duplicate column"), which is why the runner records
-- what it applied in wfhist_migrations.
ALTER TABLE workflow_history ADD COLUMN scoring_version TEXT DEFAULT '1.0';
