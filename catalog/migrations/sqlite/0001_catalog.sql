-- zhongshu catalog, SQLite dialect. Keep in step with ../postgres/0001_catalog.sql.
CREATE TABLE org_units (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    parent_id TEXT REFERENCES org_units(id),
    division_code TEXT
);

CREATE TABLE principals (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    org_id TEXT NOT NULL REFERENCES org_units(id),
    roles TEXT NOT NULL,
    attributes TEXT NOT NULL,
    password_verifier TEXT,
    token_hash TEXT UNIQUE
);

CREATE TABLE data_elements (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    name_en TEXT NOT NULL,
    standard TEXT,
    data_type TEXT NOT NULL,
    validator TEXT,
    default_category TEXT NOT NULL,
    default_grade TEXT NOT NULL,
    description TEXT NOT NULL
);

CREATE TABLE resources (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    provider_id TEXT NOT NULL REFERENCES org_units(id),
    abstract TEXT NOT NULL,
    format TEXT NOT NULL,
    share_attr TEXT NOT NULL,
    share_conditions TEXT,
    open_attr TEXT NOT NULL,
    open_conditions TEXT,
    update_cycle TEXT NOT NULL,
    tier TEXT NOT NULL,
    publish_date TEXT,
    grade TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX resources_provider ON resources(provider_id);

CREATE TABLE columns (
    resource_id TEXT NOT NULL REFERENCES resources(id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    title TEXT NOT NULL,
    data_type TEXT NOT NULL,
    nullable INTEGER NOT NULL,
    is_key INTEGER NOT NULL,
    description TEXT NOT NULL,
    category TEXT NOT NULL,
    grade TEXT NOT NULL,
    element_id TEXT REFERENCES data_elements(id),
    binding TEXT,
    PRIMARY KEY (resource_id, name)
);
CREATE INDEX columns_element ON columns(element_id);
-- 一数一源: at most one authoritative source per data element, whatever the code path.
CREATE UNIQUE INDEX columns_one_source ON columns(element_id) WHERE binding = 'source';

CREATE TABLE tables (
    resource_id TEXT NOT NULL REFERENCES resources(id),
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    location TEXT NOT NULL,
    version INTEGER NOT NULL,
    row_count INTEGER NOT NULL,
    schema_json TEXT NOT NULL,
    partition_columns TEXT NOT NULL,
    last_update TEXT NOT NULL,
    PRIMARY KEY (resource_id, name)
);

CREATE TABLE suggestions (
    id INTEGER PRIMARY KEY,
    resource_id TEXT NOT NULL REFERENCES resources(id),
    column_name TEXT NOT NULL,
    element_id TEXT,
    category TEXT NOT NULL,
    grade TEXT NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    evidence TEXT NOT NULL,
    status TEXT NOT NULL,
    decided_by TEXT
);
CREATE INDEX suggestions_resource ON suggestions(resource_id);

-- Append-only, hash-chained log of every catalog change.
CREATE TABLE change_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    entity_kind TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    action TEXT NOT NULL,
    before_state TEXT,
    after_state TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER change_log_no_update BEFORE UPDATE ON change_log
BEGIN
    SELECT RAISE(ABORT, 'change_log is append-only');
END;
CREATE TRIGGER change_log_no_delete BEFORE DELETE ON change_log
BEGIN
    SELECT RAISE(ABORT, 'change_log is append-only');
END;
