-- Frozen: the schema and rows as version 4 of the app wrote them (migrations 1-4 as shipped). Never regenerate.
-- Reports as captured on the device, and the photos they point at.
-- Locations are WGS-84; a report without a location has all three NULL.
CREATE TABLE reports (
    id              TEXT PRIMARY KEY NOT NULL,
    category        TEXT NOT NULL,
    note            TEXT NOT NULL DEFAULT '',
    latitude        REAL,
    longitude       REAL,
    location_source TEXT CHECK (location_source IN ('exif', 'device', 'manual')),
    accuracy_m      REAL,
    reporter_role   TEXT NOT NULL CHECK (reporter_role IN ('resident', 'grid_worker')),
    grid_id         TEXT,
    taken_at        TEXT,
    created_at      TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'submitted',
    CHECK ((latitude IS NULL) = (longitude IS NULL) AND (latitude IS NULL) = (location_source IS NULL)),
    CHECK (latitude IS NULL OR (latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180))
) STRICT;

CREATE INDEX reports_by_created_at ON reports (created_at);

-- One row per distinct upload rendition; the file is photos/<2 hex>/<sha256>.jpg.
CREATE TABLE photos (
    sha256          TEXT PRIMARY KEY NOT NULL CHECK (length(sha256) = 64),
    width           INTEGER NOT NULL CHECK (width > 0),
    height          INTEGER NOT NULL CHECK (height > 0),
    bytes           INTEGER NOT NULL CHECK (bytes > 0),
    thumbnail_bytes INTEGER NOT NULL CHECK (thumbnail_bytes > 0)
) STRICT;

CREATE TABLE report_photos (
    report_id TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    sha256    TEXT NOT NULL REFERENCES photos (sha256),
    PRIMARY KEY (report_id, position)
) STRICT, WITHOUT ROWID;
-- Where each report stands with the server, and the queue of what still has
-- to be sent. An outbox row lives from the report's creation until the server
-- has acknowledged it; the sync client (next) works through it in seq order.
ALTER TABLE reports ADD COLUMN sync_state TEXT NOT NULL DEFAULT 'pending'
    CHECK (sync_state IN ('pending', 'synced', 'failed'));
ALTER TABLE reports ADD COLUMN sync_error TEXT;

CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id       TEXT NOT NULL UNIQUE REFERENCES reports (id) ON DELETE CASCADE,
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- Unix milliseconds before which the item is not retried (backoff).
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
) STRICT;
-- What the sync client remembers between runs.
-- settings: server_url, token, pull_cursor.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- Photos the server has confirmed complete: never sent again. Cleared for a
-- photo if the server later says it is missing (for example a restored server).
CREATE TABLE uploaded_photos (
    sha256 TEXT PRIMARY KEY NOT NULL REFERENCES photos (sha256)
) STRICT, WITHOUT ROWID;

-- Failed items stay in the outbox, out of the way, until the user retries.
ALTER TABLE outbox ADD COLUMN failed INTEGER NOT NULL DEFAULT 0 CHECK (failed IN (0, 1));
-- Reports are listed newest first, ties broken by id: an index in exactly
-- that order lets SQLite walk it instead of sorting every row.
DROP INDEX reports_by_created_at;
CREATE INDEX reports_newest_first ON reports (created_at DESC, id DESC);
PRAGMA user_version = 4;
INSERT INTO reports (id, category, note, latitude, longitude, location_source, accuracy_m, reporter_role, grid_id, taken_at, created_at, status, sync_state, sync_error)
VALUES ('01936a4e-8f3b-7c2a-9d4e-5f6a7b8c9d0e', 'garbage', '路口垃圾', 39.9, 116.4, 'device', 8.5, 'grid_worker', 'G-7', '2026-11-01T07:59:00', '2026-11-01T08:00:00.000Z', 'accepted', 'synced', NULL),
       ('01936a4f-0000-7c2a-9d4e-5f6a7b8c9d0f', 'illegal_parking', '', NULL, NULL, NULL, NULL, 'resident', NULL, NULL, '2026-11-02T08:00:00.000Z', 'submitted', 'pending', 'network: connection refused');
INSERT INTO photos VALUES ('9599aa9d8e19db288baefe51d777224f6a79b2ae7d0a2be36168d06486825ec8', 1012, 759, 120000, 9000),
                          ('1111aa9d8e19db288baefe51d777224f6a79b2ae7d0a2be36168d06486825ec8', 1600, 1200, 210000, 12000);
INSERT INTO report_photos VALUES ('01936a4e-8f3b-7c2a-9d4e-5f6a7b8c9d0e', 0, '9599aa9d8e19db288baefe51d777224f6a79b2ae7d0a2be36168d06486825ec8'),
                                 ('01936a4f-0000-7c2a-9d4e-5f6a7b8c9d0f', 0, '1111aa9d8e19db288baefe51d777224f6a79b2ae7d0a2be36168d06486825ec8');
INSERT INTO outbox (report_id, attempts, next_attempt_at, last_error, failed) VALUES ('01936a4f-0000-7c2a-9d4e-5f6a7b8c9d0f', 2, 1764000000000, 'network: connection refused', 0);
INSERT INTO settings VALUES ('server_url', 'https://example.org'), ('token', 'tok'), ('pull_cursor', '17');
INSERT INTO uploaded_photos VALUES ('9599aa9d8e19db288baefe51d777224f6a79b2ae7d0a2be36168d06486825ec8');
