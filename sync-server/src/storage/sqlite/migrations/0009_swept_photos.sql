-- Photos sent whole or uploaded but never shown by a report or an event
-- are removed after a grace period (issue 12). Their rows go first, in one
-- transaction that checks again that nothing shows them; their bytes
-- after, each in a transaction of its own that forgets the photo here. A
-- photo recorded again meanwhile is forgotten here by that record, and its
-- bytes stay. What a crash between the two leaves is this list, never a
-- row without its bytes.
CREATE TABLE swept_photos (
    sha256  TEXT PRIMARY KEY NOT NULL CHECK (length(sha256) = 64)
) STRICT, WITHOUT ROWID;
