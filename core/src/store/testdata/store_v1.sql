-- Frozen: the schema and a row as version 1 of the app wrote them. Never regenerate.
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
PRAGMA user_version = 1;
INSERT INTO reports (id, category, note, latitude, longitude, location_source, reporter_role, created_at)
VALUES ('01936a4e-8f3b-7c2a-9d4e-5f6a7b8c9d0e', 'garbage', '路口垃圾', 39.9, 116.4, 'exif', 'resident', '2026-11-01T08:00:00.000Z');
INSERT INTO photos VALUES ('9599aa9d8e19db288baefe51d777224f6a79b2ae7d0a2be36168d06486825ec8', 1012, 759, 120000, 9000);
INSERT INTO report_photos VALUES ('01936a4e-8f3b-7c2a-9d4e-5f6a7b8c9d0e', 0, '9599aa9d8e19db288baefe51d777224f6a79b2ae7d0a2be36168d06486825ec8');
