-- Data quality: rules (a JSON specification the quality crate interprets, like ingest jobs) and
-- the metric history of their evaluations.
CREATE TABLE quality_rules (
    id TEXT PRIMARY KEY,
    resource_id TEXT REFERENCES resources(id),
    element_id TEXT REFERENCES data_elements(id),
    spec TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE quality_results (
    evaluation BIGINT NOT NULL,
    rule_id TEXT NOT NULL,
    resource_id TEXT NOT NULL REFERENCES resources(id),
    column_name TEXT,
    kind TEXT NOT NULL,
    dimension TEXT NOT NULL,
    severity TEXT NOT NULL,
    trigger TEXT NOT NULL,
    evaluated_at TEXT NOT NULL,
    table_version BIGINT,
    rows_checked BIGINT NOT NULL,
    rows_failed BIGINT NOT NULL,
    examples TEXT NOT NULL,
    PRIMARY KEY (evaluation, rule_id, resource_id)
);
CREATE INDEX quality_results_by_resource ON quality_results (resource_id, evaluation);
