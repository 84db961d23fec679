-- Whether a duplex unit is fitted: an option on many models, so it belongs to
-- the printer, not to its model. Existing printers get false.
ALTER TABLE printers ADD COLUMN duplex boolean NOT NULL DEFAULT false;
