-- 数据标准 and 系统清单: the district's code lists (代码表, e.g. GB/T 4754 industry sections,
-- loaded from a file) that `code_list` rules check values against, and the inventory of the
-- departments' information systems with the resources each produces.
CREATE TABLE code_lists (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    standard TEXT,
    description TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE code_list_values (
    list_id TEXT NOT NULL REFERENCES code_lists(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (list_id, code)
);
CREATE TABLE information_systems (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    org_id TEXT NOT NULL REFERENCES org_units(id),
    description TEXT NOT NULL,
    operator TEXT NOT NULL,
    registered_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX information_systems_by_org ON information_systems (org_id);
CREATE TABLE system_resources (
    system_id TEXT NOT NULL REFERENCES information_systems(id) ON DELETE CASCADE,
    resource_id TEXT NOT NULL REFERENCES resources(id),
    PRIMARY KEY (system_id, resource_id)
);
