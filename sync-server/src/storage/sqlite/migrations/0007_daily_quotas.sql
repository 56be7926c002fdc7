-- Daily quotas (issue 12): what a user sent since a local midnight is
-- counted from the rows themselves, never from a counter that could drift:
-- * reports by the time the server received them, per owner;
-- * photos by the time the user came to hold them (a photo counts for a
--   user once, however many reports of theirs show it). Photos held before
--   this migration have no such time and count for no day.

ALTER TABLE reports ADD COLUMN received_ms INTEGER;
UPDATE reports SET received_ms = CAST(round((julianday(received_at) - 2440587.5) * 86400000) AS INTEGER);
DROP INDEX reports_by_owner;
CREATE INDEX reports_by_owner ON reports (owner_id, received_ms);

ALTER TABLE photo_holders ADD COLUMN held_ms INTEGER;
CREATE INDEX photo_holders_by_user ON photo_holders (user_id, held_ms);
