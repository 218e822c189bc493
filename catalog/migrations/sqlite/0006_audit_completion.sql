-- A governed statement is recorded before its first row leaves the server (outcome
-- `started`) and completed afterwards by a second record that names the first.
ALTER TABLE audit_log ADD COLUMN completes BIGINT;
