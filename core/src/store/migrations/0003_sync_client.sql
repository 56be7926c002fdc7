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
