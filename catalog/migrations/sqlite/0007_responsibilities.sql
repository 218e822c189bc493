-- 数据权责清单 (the responsibility list): the department responsible for each data element,
-- assigned by the chief data officer with its legal basis and update duty. Only the assigned
-- department may hold (bind) the element's authoritative source.
CREATE TABLE responsibilities (
    element_id TEXT PRIMARY KEY REFERENCES data_elements(id),
    org_id TEXT NOT NULL REFERENCES org_units(id),
    legal_basis TEXT NOT NULL,
    update_duty TEXT NOT NULL,
    assigned_by TEXT NOT NULL,
    assigned_at TEXT NOT NULL
);
CREATE INDEX responsibilities_by_org ON responsibilities (org_id);
