-- A database as version 1 of the server left it (frozen copy; never edit).
-- Users with their bearer tokens (only the sha256 of a token is kept), the
-- photos the server holds, and uploads under way.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    role          TEXT NOT NULL CHECK (role IN ('resident', 'grid_worker', 'department', 'coordinator', 'admin')),
    grid_id       TEXT,
    department    TEXT,
    token_sha256  TEXT NOT NULL UNIQUE CHECK (length(token_sha256) = 64),
    created_at    TEXT NOT NULL,
    CHECK (role <> 'grid_worker' OR grid_id IS NOT NULL),
    CHECK (role <> 'department' OR department IS NOT NULL)
) STRICT;

-- A complete, verified photo: its rendition and thumbnail are in the blob
-- store under photos/ before the row is written.
CREATE TABLE photos (
    sha256          TEXT PRIMARY KEY NOT NULL CHECK (length(sha256) = 64),
    bytes           INTEGER NOT NULL CHECK (bytes > 0),
    width           INTEGER NOT NULL CHECK (width > 0),
    height          INTEGER NOT NULL CHECK (height > 0),
    thumbnail_bytes INTEGER NOT NULL CHECK (thumbnail_bytes > 0),
    received_at     TEXT NOT NULL
) STRICT;

-- An upload under way: the partial file holds at least `offset` bytes,
-- fsynced before the offset moved. The row goes when the photo is complete
-- or discarded.
CREATE TABLE uploads (
    sha256      TEXT PRIMARY KEY NOT NULL CHECK (length(sha256) = 64),
    length      INTEGER NOT NULL CHECK (length > 0),
    offset      INTEGER NOT NULL DEFAULT 0 CHECK (offset BETWEEN 0 AND length),
    started_by  INTEGER NOT NULL REFERENCES users (id),
    started_at  TEXT NOT NULL
) STRICT;
INSERT INTO users (id, name, role, grid_id, department, token_sha256, created_at)
VALUES (1, 'wang', 'grid_worker', 'g-07', NULL, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '2026-01-02T03:04:05.000Z');
INSERT INTO photos (sha256, bytes, width, height, thumbnail_bytes, received_at)
VALUES ('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 1000, 40, 30, 200, '2026-01-02T03:04:06.000Z');
PRAGMA user_version = 1;
