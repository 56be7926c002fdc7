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
