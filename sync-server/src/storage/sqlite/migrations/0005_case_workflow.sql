-- The case workflow (issue 10): grids, departments and routes, the cycle
-- as server-ordered events, and what duplicate lookups need.
-- Runs with foreign keys off (see the migration runner): `reports` is
-- rebuilt, since SQLite cannot widen its status CHECK in place.

-- 单元网格: the cells a report is placed in, in WGS-84.
CREATE TABLE grids (
    grid_id        TEXT PRIMARY KEY NOT NULL CHECK (length(grid_id) BETWEEN 1 AND 256),
    name           TEXT NOT NULL,
    community      TEXT NOT NULL,
    street_office  TEXT NOT NULL,
    -- The cell as a GeoJSON geometry (Polygon or MultiPolygon), WGS-84.
    geometry       TEXT NOT NULL,
    min_lat        REAL NOT NULL,
    max_lat        REAL NOT NULL,
    min_lon        REAL NOT NULL,
    max_lon        REAL NOT NULL,
    imported_at    TEXT NOT NULL
) STRICT;

CREATE TABLE departments (
    code     TEXT PRIMARY KEY NOT NULL CHECK (length(code) BETWEEN 1 AND 256),
    name     TEXT NOT NULL,
    name_en  TEXT
) STRICT;

-- Department users existed before departments did: each code they named
-- becomes a department, named by its code until renamed.
INSERT OR IGNORE INTO departments (code, name) SELECT DISTINCT department, department FROM users WHERE department IS NOT NULL;
INSERT OR IGNORE INTO departments (code, name) SELECT DISTINCT department, department FROM reports WHERE department IS NOT NULL;

-- A category's department and deadline, filled in on dispatch.
CREATE TABLE routes (
    category        TEXT PRIMARY KEY NOT NULL,
    department      TEXT NOT NULL REFERENCES departments (code),
    deadline_hours  INTEGER NOT NULL CHECK (deadline_hours BETWEEN 1 AND 8760)
) STRICT;

-- The report, its state folded from its events (kept in the same
-- transaction as each event), and where it is.
CREATE TABLE reports_rebuilt (
    id              TEXT PRIMARY KEY NOT NULL,
    owner_id        INTEGER NOT NULL REFERENCES users (id),
    content_sha256  TEXT NOT NULL CHECK (length(content_sha256) = 64),
    body            TEXT NOT NULL,
    category        TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    created_ms      INTEGER NOT NULL,
    grid_id         TEXT,
    status          TEXT NOT NULL CHECK (status IN
                        ('submitted', 'accepted', 'rejected', 'duplicate', 'dispatched', 'in_progress', 'rectified', 'closed')),
    department      TEXT,
    received_at     TEXT NOT NULL,
    latitude        REAL,
    longitude       REAL,
    due_at          TEXT,
    due_ms          INTEGER,
    duplicate_of    TEXT,
    -- When the last event happened, in ms: the order of task lists.
    changed_ms      INTEGER NOT NULL
) STRICT;

INSERT INTO reports_rebuilt (rowid, id, owner_id, content_sha256, body, category, created_at, created_ms, grid_id, status, department,
                             received_at, latitude, longitude, changed_ms)
    SELECT rowid, id, owner_id, content_sha256, body, category, created_at, created_ms, grid_id, status, department, received_at,
           json_extract(body, '$.location.latitude'), json_extract(body, '$.location.longitude'),
           coalesce((SELECT max(CAST(strftime('%s', e.at) AS INTEGER) * 1000) FROM events e WHERE e.report_id = reports.id), created_ms)
    FROM reports;
DROP TABLE reports;
ALTER TABLE reports_rebuilt RENAME TO reports;

CREATE INDEX reports_by_created ON reports (created_ms, id);
CREATE INDEX reports_by_owner ON reports (owner_id);
CREATE INDEX reports_by_grid ON reports (grid_id, changed_ms) WHERE grid_id IS NOT NULL;
CREATE INDEX reports_by_department ON reports (department, changed_ms) WHERE department IS NOT NULL;

-- Where reports are, for duplicate lookups: one box per report with a
-- location, keyed by the report's rowid.
CREATE VIRTUAL TABLE report_places USING rtree (report_rowid, min_lat, max_lat, min_lon, max_lon);
INSERT INTO report_places SELECT rowid, latitude, latitude, longitude, longitude FROM reports WHERE latitude IS NOT NULL;

-- Every event records who took it in what role, when, with what.
ALTER TABLE events ADD COLUMN action TEXT;
ALTER TABLE events ADD COLUMN action_id TEXT;
ALTER TABLE events ADD COLUMN content_sha256 TEXT;
ALTER TABLE events ADD COLUMN actor_role TEXT NOT NULL DEFAULT 'resident';
ALTER TABLE events ADD COLUMN public_note TEXT;
ALTER TABLE events ADD COLUMN due_at TEXT;
ALTER TABLE events ADD COLUMN duplicate_of TEXT;
UPDATE events SET actor_role = (SELECT u.role FROM users u WHERE u.id = events.actor_id);
-- Notes of the old free-form status changes reached the reporter through
-- the changes feed, which now carries public notes only: they stay public.
UPDATE events SET public_note = note WHERE note IS NOT NULL;
CREATE UNIQUE INDEX events_by_action_id ON events (action_id) WHERE action_id IS NOT NULL;
CREATE INDEX events_by_department ON events (department, report_id) WHERE department IS NOT NULL;

-- After-photos of a rectification, for reading them and who may.
CREATE TABLE event_photos (
    event_seq  INTEGER NOT NULL REFERENCES events (seq),
    position   INTEGER NOT NULL,
    sha256     TEXT NOT NULL REFERENCES photos (sha256),
    PRIMARY KEY (event_seq, position)
) STRICT, WITHOUT ROWID;

CREATE INDEX event_photos_by_sha256 ON event_photos (sha256);

-- A perceptual hash of each photo (64 bits, hex), made when it arrives:
-- how alike two reports' photos look.
ALTER TABLE photos ADD COLUMN phash TEXT;

-- Servers keep the grid in memory for placing reports; this tells them
-- when it changed.
INSERT INTO meta (key, value) VALUES ('grids_version', 0);
CREATE TRIGGER grids_inserted AFTER INSERT ON grids BEGIN UPDATE meta SET value = value + 1 WHERE key = 'grids_version'; END;
CREATE TRIGGER grids_updated AFTER UPDATE ON grids BEGIN UPDATE meta SET value = value + 1 WHERE key = 'grids_version'; END;
CREATE TRIGGER grids_deleted AFTER DELETE ON grids BEGIN UPDATE meta SET value = value + 1 WHERE key = 'grids_version'; END;
