-- The quality loop: rows flagged by warn rules at ingest, objections (数据纠错) filed by users
-- and decided by the owning department, metrics measured at each evaluation and the incidents
-- raised when a metric jumps against its trailing behaviour.
ALTER TABLE ingest_runs ADD COLUMN rows_flagged BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ingest_runs ADD COLUMN flag_version BIGINT;

CREATE TABLE objections (
    id BIGINT PRIMARY KEY,
    resource_id TEXT NOT NULL REFERENCES resources(id),
    table_name TEXT NOT NULL,
    owner_org TEXT NOT NULL,
    record_key TEXT NOT NULL,
    column_name TEXT NOT NULL,
    current_value TEXT,
    proposed_value TEXT NOT NULL,
    evidence TEXT NOT NULL,
    filed_by TEXT NOT NULL,
    filed_at TEXT NOT NULL,
    status TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    decision_reason TEXT,
    table_version BIGINT
);
CREATE INDEX objections_by_owner ON objections (owner_org, status);

CREATE TABLE quality_metrics (
    evaluation BIGINT NOT NULL,
    resource_id TEXT NOT NULL REFERENCES resources(id),
    metric TEXT NOT NULL,
    column_name TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    measured_at TEXT NOT NULL,
    PRIMARY KEY (evaluation, resource_id, metric, column_name)
);
CREATE INDEX quality_metrics_by_series ON quality_metrics (resource_id, metric, column_name, evaluation);

CREATE TABLE quality_incidents (
    id BIGINT PRIMARY KEY,
    resource_id TEXT NOT NULL REFERENCES resources(id),
    metric TEXT NOT NULL,
    column_name TEXT NOT NULL,
    observed DOUBLE PRECISION NOT NULL,
    expected DOUBLE PRECISION NOT NULL,
    low DOUBLE PRECISION NOT NULL,
    high DOUBLE PRECISION NOT NULL,
    evaluation BIGINT NOT NULL,
    detected_at TEXT NOT NULL,
    status TEXT NOT NULL,
    resolved_by TEXT,
    resolved_at TEXT
);
