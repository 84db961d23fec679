ALTER TABLE vintage_machines ADD COLUMN site_id INTEGER REFERENCES sites (id);
