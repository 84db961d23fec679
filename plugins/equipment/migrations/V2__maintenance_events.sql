-- Maintenance log: preventive service, repairs, calibrations and inspections,
-- with the downtime they caused. These are quality records (calibration
-- evidence), so a machine that has any cannot be hard-deleted: retire it with
-- is_deleted instead.
CREATE TABLE maintenance_events (
    id                INTEGER PRIMARY KEY,
    equipment_id      INTEGER NOT NULL REFERENCES equipment (id) ON DELETE RESTRICT,
    kind              TEXT    NOT NULL CHECK (kind IN ('preventive', 'corrective', 'calibration', 'inspection')),
    performed_at      TEXT    NOT NULL
                      CHECK (performed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'),
    performed_by      INTEGER REFERENCES people (id) ON DELETE RESTRICT,
    downtime_minutes  INTEGER NOT NULL DEFAULT 0 CHECK (downtime_minutes >= 0),
    notes             TEXT,
    created_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX maintenance_events_equipment ON maintenance_events (equipment_id, performed_at);
CREATE INDEX maintenance_events_performed_by ON maintenance_events (performed_by);
