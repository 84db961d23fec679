-- Two constraints of `computers` change:
--   * deleting a computer model that computers still use is now refused
--     (ON DELETE RESTRICT) instead of silently unlinking them;
--   * updated_at may no longer precede created_at.
-- SQLite cannot alter a constraint and rebuilds the table (create, copy,
-- drop, rename). PostgreSQL alters it in place: the rows, their ids, the
-- identity sequence, the indexes and every foreign key that points at
-- computers (disks, interfaces, other plugins' tables) stay as they are.
-- Adding the constraints checks the existing rows, so a computer whose
-- updated_at precedes its created_at fails the run and rolls it back, as
-- the copy into the rebuilt table does on SQLite. The constraints are named
-- as a CREATE TABLE would name them (schema.sql names them the same way).
ALTER TABLE computers
    DROP CONSTRAINT computers_model_id_fkey,
    ADD CONSTRAINT computers_model_id_fkey
        FOREIGN KEY (model_id) REFERENCES computer_models (id) ON DELETE RESTRICT,
    ADD CONSTRAINT computers_check CHECK (updated_at >= created_at);
