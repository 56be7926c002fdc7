-- Rows as version 4 of the server held them (frozen; never edit): a
-- resident's report dispatched by the old free-form status endpoint to a
-- department that existed only as text, with a note the reporter saw.
INSERT INTO users (id, name, role, grid_id, department, created_at) VALUES
    (1, 'ana', 'resident', NULL, NULL, '2026-05-01T00:00:00.000Z'),
    (2, 'coco', 'coordinator', NULL, NULL, '2026-05-01T00:00:00.000Z'),
    (3, 'cg', 'department', NULL, '城管', '2026-05-01T00:00:00.000Z');
INSERT INTO photos (sha256, bytes, width, height, received_at) VALUES
    ('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 100, 4, 3, '2026-05-01T00:00:00.000Z');
INSERT INTO reports (id, owner_id, content_sha256, body, category, created_at, created_ms, grid_id, status, department, received_at) VALUES
    ('01900000-0000-7000-8000-000000000001', 1, 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
     '{"id":"01900000-0000-7000-8000-000000000001","category":"garbage","note":"x","location":{"latitude":32.34,"longitude":114.74,"accuracy_m":5.0,"source":"device"},"photos":[{"sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","width":4,"height":3,"bytes":100}],"reporter":{"role":"resident","grid_id":null},"taken_at":null,"created_at":"2026-05-01T01:00:00.000Z"}',
     'garbage', '2026-05-01T01:00:00.000Z', 1777597200000, NULL, 'dispatched', '城管', '2026-05-01T01:00:01.000Z');
INSERT INTO report_photos (report_id, position, sha256) VALUES
    ('01900000-0000-7000-8000-000000000001', 0, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
INSERT INTO events (report_id, status, note, department, actor_id, at) VALUES
    ('01900000-0000-7000-8000-000000000001', 'submitted', NULL, NULL, 1, '2026-05-01T01:00:01.000Z'),
    ('01900000-0000-7000-8000-000000000001', 'dispatched', '已转城管', '城管', 2, '2026-05-01T02:00:00.000Z');
