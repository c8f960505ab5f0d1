-- PostgreSQL drops the foreign keys of the rows every import and
-- subscription batch writes here (postgres/0009): there, each is a trigger
-- per row. SQLite keeps them: its checks are in-process index probes, a few
-- microseconds a row, and it cannot drop a constraint without rebuilding
-- the table. Nothing to change; the migration keeps both drivers' versions
-- in step.
SELECT 1;
