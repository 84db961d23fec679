-- Who handed the device out (the tool-crib attendant), next to who took it.
-- Older check-outs did not record it, so it stays nullable.
ALTER TABLE usb_checkouts ADD COLUMN issued_by bigint REFERENCES people (id) ON DELETE RESTRICT;
CREATE INDEX usb_checkouts_issued_by ON usb_checkouts (issued_by);
