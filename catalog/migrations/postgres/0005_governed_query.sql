-- The governed query path: grants (from approved share requests, or created directly by an
-- administrator), custom Cedar policies added by administrators, and the hash-chained access
-- audit log of every governed query, allowed or denied.
CREATE TABLE grants (
    id BIGINT PRIMARY KEY,
    resource_id TEXT NOT NULL REFERENCES resources(id),
    grantee_kind TEXT NOT NULL,
    grantee TEXT NOT NULL,
    grant_columns TEXT NOT NULL,
    purpose TEXT,
    row_filter TEXT,
    masks TEXT NOT NULL,
    expires_at TEXT,
    granted_by TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    revoked_by TEXT,
    revoked_at TEXT
);
CREATE INDEX grants_by_grantee ON grants (grantee_kind, grantee);
CREATE INDEX grants_by_resource ON grants (resource_id);

CREATE TABLE custom_policies (
    id TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    policy_text TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    principal TEXT NOT NULL,
    purpose TEXT,
    client TEXT NOT NULL,
    protocol TEXT NOT NULL,
    sql_text TEXT NOT NULL,
    table_names TEXT NOT NULL,
    column_names TEXT NOT NULL,
    masks_applied TEXT NOT NULL,
    filters_applied TEXT NOT NULL,
    rows_returned BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_by_principal ON audit_log (principal, seq);
