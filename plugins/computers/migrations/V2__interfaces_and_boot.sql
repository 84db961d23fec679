-- Network interfaces, so that the network plugin can tie ports and
-- addresses to the computer they belong to.
CREATE TABLE computer_interfaces (
    id           INTEGER PRIMARY KEY,
    computer_id  INTEGER NOT NULL REFERENCES computers (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL CHECK (length(name) > 0),
    mac_address  TEXT    UNIQUE COLLATE NOCASE
                 CHECK (mac_address IS NULL OR mac_address GLOB '[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]'),
    UNIQUE (computer_id, name)
);

-- When the inventory agent last saw the machine boot.
ALTER TABLE computers ADD COLUMN last_boot_at TEXT;
