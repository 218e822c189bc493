-- Ingest jobs, their run history and the ledger of landed files.
CREATE TABLE ingest_jobs (
    id TEXT PRIMARY KEY,
    resource_id TEXT NOT NULL REFERENCES resources(id),
    table_name TEXT NOT NULL,
    spec TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE ingest_runs (
    job_id TEXT NOT NULL REFERENCES ingest_jobs(id),
    run BIGINT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    rows_read BIGINT NOT NULL,
    rows_written BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    table_version BIGINT,
    quarantine_version BIGINT,
    inputs TEXT NOT NULL,
    error TEXT,
    PRIMARY KEY (job_id, run)
);

CREATE TABLE landed_files (
    job_id TEXT NOT NULL REFERENCES ingest_jobs(id),
    path TEXT NOT NULL,
    size BIGINT NOT NULL,
    checksum TEXT NOT NULL,
    run BIGINT NOT NULL,
    PRIMARY KEY (job_id, path, checksum)
);
