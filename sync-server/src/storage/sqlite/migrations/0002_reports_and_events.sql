-- Reports as pushed, and their workflow events. `body` is the report's
-- canonical JSON exactly as accepted; the other columns are what the server
-- adds or queries on.
CREATE TABLE reports (
    id              TEXT PRIMARY KEY NOT NULL,
    owner_id        INTEGER NOT NULL REFERENCES users (id),
    content_sha256  TEXT NOT NULL CHECK (length(content_sha256) = 64),
    body            TEXT NOT NULL,
    category        TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    created_ms      INTEGER NOT NULL,
    grid_id         TEXT,
    status          TEXT NOT NULL CHECK (status IN ('submitted', 'accepted', 'rejected', 'dispatched', 'rectified', 'closed')),
    department      TEXT,
    received_at     TEXT NOT NULL
) STRICT;

CREATE INDEX reports_by_created ON reports (created_ms, id);
CREATE INDEX reports_by_owner ON reports (owner_id);
CREATE INDEX reports_by_grid ON reports (grid_id) WHERE grid_id IS NOT NULL;
CREATE INDEX reports_by_department ON reports (department) WHERE department IS NOT NULL;

CREATE TABLE report_photos (
    report_id TEXT NOT NULL REFERENCES reports (id),
    position  INTEGER NOT NULL,
    sha256    TEXT NOT NULL REFERENCES photos (sha256),
    PRIMARY KEY (report_id, position)
) STRICT, WITHOUT ROWID;

-- Who may see a photo is decided through the reports that contain it.
CREATE INDEX report_photos_by_sha256 ON report_photos (sha256);

-- The changes feed. AUTOINCREMENT: a sequence number is never reused, even
-- after the newest event is deleted, so a device's cursor stays meaningful.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id   TEXT NOT NULL REFERENCES reports (id),
    status      TEXT NOT NULL,
    note        TEXT,
    department  TEXT,
    actor_id    INTEGER NOT NULL REFERENCES users (id),
    at          TEXT NOT NULL
) STRICT;

CREATE INDEX events_by_report ON events (report_id, seq);
