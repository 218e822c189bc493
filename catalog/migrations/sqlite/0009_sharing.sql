-- Sharing: the demand list (需求清单), share requests (共享申请) and the negative list (负面清单).
-- A granted request names the grant its approval created in the same transaction.
CREATE TABLE share_demands (
    id BIGINT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES org_units(id),
    title TEXT NOT NULL,
    business TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    items TEXT NOT NULL,
    urgency TEXT NOT NULL,
    status TEXT NOT NULL,
    resource_id TEXT REFERENCES resources(id),
    reason TEXT,
    filed_by TEXT NOT NULL,
    filed_at TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT
);
CREATE INDEX share_demands_by_org ON share_demands (org_id, status);
CREATE TABLE share_requests (
    id BIGINT PRIMARY KEY,
    resource_id TEXT NOT NULL REFERENCES resources(id),
    owner_org TEXT NOT NULL,
    grantee_kind TEXT NOT NULL,
    grantee TEXT NOT NULL,
    request_columns TEXT NOT NULL,
    purpose TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    row_filter TEXT,
    days BIGINT NOT NULL,
    demand_id BIGINT REFERENCES share_demands(id),
    renews BIGINT,
    status TEXT NOT NULL,
    conditions TEXT,
    reason TEXT,
    grant_id BIGINT,
    filed_by TEXT NOT NULL,
    filed_at TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT
);
CREATE INDEX share_requests_by_owner ON share_requests (owner_org, status);
CREATE TABLE sharing_negative_list (
    id TEXT PRIMARY KEY,
    element_id TEXT REFERENCES data_elements(id),
    resource_id TEXT REFERENCES resources(id),
    column_name TEXT,
    legal_basis TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL
);
