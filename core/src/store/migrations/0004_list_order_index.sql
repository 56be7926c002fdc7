-- Reports are listed newest first, ties broken by id: an index in exactly
-- that order lets SQLite walk it instead of sorting every row.
DROP INDEX reports_by_created_at;
CREATE INDEX reports_newest_first ON reports (created_at DESC, id DESC);
