-- The case workflow on the device (issue 10): reports fixed on the spot,
-- the cases this device may act on, and the outbox of its actions.

-- 即查即改: a grid worker's report of a problem fixed on the spot, with the
-- photos that show the fix (stored like the report's own photos).
ALTER TABLE reports ADD COLUMN fixed_on_spot INTEGER NOT NULL DEFAULT 0 CHECK (fixed_on_spot IN (0, 1));

CREATE TABLE report_after_photos (
    report_id TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    sha256    TEXT NOT NULL REFERENCES photos (sha256),
    PRIMARY KEY (report_id, position)
) STRICT, WITHOUT ROWID;

-- The cases of the last task feed (`GET /v1/tasks`), each the server's Task
-- as JSON, and the cases this device acted on that have left the feed since
-- (kept for a while so the user sees how the action went). feed_rank is the
-- position in the last feed (0: newest change), NULL once out of it.
-- fetched_at: unix ms of the feed that last brought the case.
CREATE TABLE tasks (
    id         TEXT PRIMARY KEY NOT NULL,
    task       TEXT NOT NULL,
    feed_rank  INTEGER,
    fetched_at INTEGER NOT NULL
) STRICT;

CREATE INDEX tasks_in_feed_order ON tasks (feed_rank);

-- Thumbnails of the tasks' photos fetched from the server, filed like the
-- device's own (thumbnails/<2 hex>/<sha256>.jpg, named by the rendition's
-- sha256); a row goes, and its file with it, when no task shows the photo.
CREATE TABLE task_thumbnails (
    sha256 TEXT PRIMARY KEY NOT NULL CHECK (length(sha256) = 64),
    bytes  INTEGER NOT NULL CHECK (bytes > 0)
) STRICT, WITHOUT ROWID;

-- The actions this device took, sent in seq order. `request` is the
-- ActionRequest JSON exactly as it is (re)sent: the server recognises a
-- resend by action_id and content. No foreign key to tasks: the case is
-- the server's, and its task row may come and go.
CREATE TABLE actions (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    action_id       TEXT NOT NULL UNIQUE,
    report_id       TEXT NOT NULL,
    action          TEXT NOT NULL,
    request         TEXT NOT NULL,
    taken_at        TEXT NOT NULL,
    sync_state      TEXT NOT NULL DEFAULT 'pending' CHECK (sync_state IN ('pending', 'synced', 'failed')),
    sync_error      TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- Unix milliseconds before which a pending action is not retried (backoff).
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    -- Unix milliseconds when it became synced or failed.
    resolved_at     INTEGER,
    -- The case's status after it, as the server answered.
    result_status   TEXT
) STRICT;

CREATE INDEX actions_by_case ON actions (report_id, seq);
CREATE INDEX actions_pending ON actions (seq) WHERE sync_state = 'pending';

CREATE TABLE action_photos (
    action_id TEXT NOT NULL REFERENCES actions (action_id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    sha256    TEXT NOT NULL REFERENCES photos (sha256),
    PRIMARY KEY (action_id, position)
) STRICT, WITHOUT ROWID;
