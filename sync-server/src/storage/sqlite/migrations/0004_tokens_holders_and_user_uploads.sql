-- Closing doors a hostile client could open (issue 8):
-- * tokens of their own, so that one can be revoked while the user stays,
--   and users that can be disabled;
-- * a version that every change to users or tokens bumps (by trigger, so
--   no writer can forget), which running servers poll to drop cached users;
-- * who holds which photo: a photo counts as uploaded only for a user who
--   sent it whole, so that knowing a hash is not enough to use or read it;
-- * uploads per user, each with its own partial file and the time it was
--   last touched, so that abandoned ones expire and no user can see or
--   resume another's;
-- * thumbnails that cannot be made, remembered instead of retried.
-- Runs with foreign keys off (see the migration runner): `users` is
-- rebuilt, since SQLite cannot drop its UNIQUE token column in place.

CREATE TABLE tokens (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    token_sha256  TEXT NOT NULL UNIQUE CHECK (length(token_sha256) = 64),
    device        TEXT NOT NULL CHECK (length(device) BETWEEN 1 AND 64),
    created_at    TEXT NOT NULL,
    revoked_at    TEXT
) STRICT;

CREATE INDEX tokens_by_user ON tokens (user_id);

INSERT INTO tokens (user_id, token_sha256, device, created_at)
    SELECT id, token_sha256, 'default', created_at FROM users;

CREATE TABLE users_rebuilt (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    role          TEXT NOT NULL CHECK (role IN ('resident', 'grid_worker', 'department', 'coordinator', 'admin')),
    grid_id       TEXT,
    department    TEXT,
    created_at    TEXT NOT NULL,
    disabled_at   TEXT,
    CHECK (role <> 'grid_worker' OR grid_id IS NOT NULL),
    CHECK (role <> 'department' OR department IS NOT NULL)
) STRICT;

INSERT INTO users_rebuilt (id, name, role, grid_id, department, created_at)
    SELECT id, name, role, grid_id, department, created_at FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO meta (key, value) VALUES ('auth_version', 0);

CREATE TRIGGER users_inserted AFTER INSERT ON users BEGIN UPDATE meta SET value = value + 1 WHERE key = 'auth_version'; END;
CREATE TRIGGER users_updated AFTER UPDATE ON users BEGIN UPDATE meta SET value = value + 1 WHERE key = 'auth_version'; END;
CREATE TRIGGER users_deleted AFTER DELETE ON users BEGIN UPDATE meta SET value = value + 1 WHERE key = 'auth_version'; END;
CREATE TRIGGER tokens_inserted AFTER INSERT ON tokens BEGIN UPDATE meta SET value = value + 1 WHERE key = 'auth_version'; END;
CREATE TRIGGER tokens_updated AFTER UPDATE ON tokens BEGIN UPDATE meta SET value = value + 1 WHERE key = 'auth_version'; END;
CREATE TRIGGER tokens_deleted AFTER DELETE ON tokens BEGIN UPDATE meta SET value = value + 1 WHERE key = 'auth_version'; END;

CREATE TABLE photo_holders (
    sha256   TEXT NOT NULL REFERENCES photos (sha256),
    user_id  INTEGER NOT NULL REFERENCES users (id),
    PRIMARY KEY (sha256, user_id)
) STRICT, WITHOUT ROWID;

-- Every photo of a report is held by the report's owner, who pushed it.
INSERT OR IGNORE INTO photo_holders (sha256, user_id)
    SELECT rp.sha256, r.owner_id FROM report_photos rp JOIN reports r ON r.id = rp.report_id;

-- Uploads under way start again: their partial files were named by hash
-- alone; the server removes them at start-up as files without a row.
DROP TABLE uploads;

CREATE TABLE uploads (
    user_id     INTEGER NOT NULL REFERENCES users (id),
    sha256      TEXT NOT NULL CHECK (length(sha256) = 64),
    length      INTEGER NOT NULL CHECK (length > 0),
    offset      INTEGER NOT NULL DEFAULT 0 CHECK (offset BETWEEN 0 AND length),
    started_at  TEXT NOT NULL,
    -- Milliseconds since the epoch of the last chunk or start: what expiry goes by.
    touched_ms  INTEGER NOT NULL,
    PRIMARY KEY (user_id, sha256)
) STRICT, WITHOUT ROWID;

CREATE INDEX uploads_by_touched ON uploads (touched_ms);

ALTER TABLE photos ADD COLUMN thumbnail_error TEXT;
