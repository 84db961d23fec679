-- Whether a duplex unit is fitted: an option on many models, so it belongs to
-- the printer, not to its model.
ALTER TABLE printers ADD COLUMN duplex INTEGER NOT NULL DEFAULT 0 CHECK (duplex IN (0, 1));
