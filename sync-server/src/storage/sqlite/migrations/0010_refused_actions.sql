-- An action's first decision is final (issue 12, found by the simulation
-- at seed 20225): a refusal is recorded under the action's id as an applied
-- action is (events.action_id), so that a delayed copy of a refused request
-- is answered with the same refusal rather than judged again against a case
-- that has moved on meanwhile. An id is in at most one of the two tables:
-- the service looks in both before it decides, in the transaction that
-- records its decision.
CREATE TABLE refused_actions (
    action_id      TEXT PRIMARY KEY NOT NULL,
    report_id      TEXT NOT NULL REFERENCES reports (id),
    actor_id       INTEGER NOT NULL REFERENCES users (id),
    content_sha256 TEXT NOT NULL,
    error          TEXT NOT NULL CHECK (error IN ('bad_request', 'forbidden', 'invalid_transition')),
    message        TEXT NOT NULL,
    case_status    TEXT,
    allowed        TEXT NOT NULL DEFAULT '',
    refused_ms     INTEGER NOT NULL,
    CHECK ((error = 'invalid_transition') = (case_status IS NOT NULL))
) STRICT, WITHOUT ROWID;
