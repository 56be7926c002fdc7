-- Duplicate lookups (the console's case page of every case not yet
-- accepted): a category's reports in a ±30-day window, their places read
-- from the index, so that a lookup's cost grows with the window and not,
-- as through the R*Tree box, with every year of reports in the same spot.
CREATE INDEX reports_by_category_time ON reports (category, created_ms, latitude, longitude);
