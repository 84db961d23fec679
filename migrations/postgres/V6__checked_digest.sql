-- What the host checked before each plugin's last run, as one digest: the
-- plugin's manifest and SQL, its dependencies' digests, the core chain and
-- the host's version (`checks::digest`). `check --database` takes the
-- verdict of a plugin applied up to its head whose digest is unchanged from
-- here instead of checking the same SQL again in scratch databases. NULL
-- where the run had no verdict (stamp, or a row an older host wrote).
ALTER TABLE shopdb_core_plugins ADD COLUMN checked_digest text
    CHECK (checked_digest IS NULL OR length(checked_digest) = 64);
