-- Daily page counters read from the printer (SNMP) or typed in: lifetime
-- totals, one reading per printer and day, for usage and cost reports.
CREATE TABLE page_counts (
    id           INTEGER PRIMARY KEY,
    printer_id   INTEGER NOT NULL REFERENCES printers (id) ON DELETE CASCADE,
    counted_on   TEXT    NOT NULL CHECK (counted_on GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    total_pages  INTEGER NOT NULL CHECK (total_pages >= 0),
    color_pages  INTEGER CHECK (color_pages IS NULL OR color_pages BETWEEN 0 AND total_pages),
    source       TEXT    NOT NULL DEFAULT 'snmp' CHECK (source IN ('snmp', 'manual')),
    created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (printer_id, counted_on)
);
-- Fleet-wide reports for one day.
CREATE INDEX page_counts_counted_on ON page_counts (counted_on);
