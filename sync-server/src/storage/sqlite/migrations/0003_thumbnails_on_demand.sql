-- Thumbnails are made when first asked for, not when the photo arrives:
-- decoding every upload cost more CPU than receiving it, on a path that a
-- device waits on. The row no longer knows the thumbnail's size.
ALTER TABLE photos DROP COLUMN thumbnail_bytes;
