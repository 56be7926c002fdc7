-- The coordinators' console (issue 11): staff sign in with a name and a
-- password in a browser, and stay signed in by a session cookie.
-- * A password is kept only as its Argon2id hash (a PHC string).
-- * Sessions live here, not in a server's memory, so that any instance
--   answers any request and a disabled user is out at once everywhere.
--   Only the cookie's sha256 is kept; the CSRF token is the session's.
-- * Failed sign-ins are counted per name and per address, so that
--   guessing is throttled on every instance alike.

ALTER TABLE users ADD COLUMN password_hash TEXT;

CREATE TABLE sessions (
    session_sha256  TEXT PRIMARY KEY CHECK (length(session_sha256) = 64),
    user_id         INTEGER NOT NULL REFERENCES users (id),
    csrf            TEXT NOT NULL CHECK (length(csrf) = 64),
    created_ms      INTEGER NOT NULL,
    expires_ms      INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_ms);

CREATE TABLE sign_in_failures (
    subject  TEXT NOT NULL,
    at_ms    INTEGER NOT NULL
) STRICT;

CREATE INDEX sign_in_failures_by_subject ON sign_in_failures (subject, at_ms);

-- The console counts a listing's cases per status and lists by status:
-- from this index rather than the table.
CREATE INDEX reports_by_status ON reports (status, created_ms);
