CREATE TABLE gauges (id INTEGER PRIMARY KEY, serial TEXT NOT NULL UNIQUE);
CREATE TABLE gauge_calibrations (
    id INTEGER PRIMARY KEY,
    gauge_id INTEGER NOT NULL REFERENCES gauges (id),
    calibrated_on TEXT NOT NULL
);
