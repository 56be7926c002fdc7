"""Schemathesis hooks for the suishoupai run (loaded through
SCHEMATHESIS_HOOKS=hooks): a serializer for tus chunks, real ids and hashes from the seed in path
parameters half of the time, so that operations find something, and one
check of our own, `role_boundaries`: no role gets a 2xx where the
permission rules (sync-server/src/auth/permissions.rs) must give it 403,
nor sees a report it may not (the seed's report of another resident
outside the grid worker's grid, the undispatched ones for a department).

The role and the seed come from SUISHOUPAI_ROLE and SUISHOUPAI_SEED.
"""

import json
import os
import random

import schemathesis

ROLE = os.environ["SUISHOUPAI_ROLE"]
SEED = json.loads(open(os.environ["SUISHOUPAI_SEED"]).read())
STAFF = {"grid_worker", "coordinator", "department", "admin"}
CAMPAIGN = {"coordinator", "admin"}

# Operations only some roles may be answered 2xx (the others get 403).
ALLOWED = {
    "metrics": {"admin"},
    "push": {"resident", "grid_worker", "coordinator", "admin"},
    "duplicates": CAMPAIGN,
    "departments": STAFF,
    "addDepartment": {"admin"},
    "routes": STAFF,
    "setRoute": {"admin"},
    "grids": STAFF,
    "importGrid": {"admin"},
    "stats": CAMPAIGN,
    "ledgerXlsx": CAMPAIGN,
    "ledgerCsv": CAMPAIGN,
    "dailyBulletin": CAMPAIGN,
    "ranking": CAMPAIGN,
    "open311CreateRequest": {"resident"},
}

# Reports the role must not see (404 on every operation about one).
UNSEEN = {
    "resident": {SEED["foreign"]},
    "grid_worker": {SEED["foreign"]},
    "department": {SEED["reports"][0], SEED["reports"][1], SEED["foreign"]},
}.get(ROLE, set())

KNOWN_IDS = SEED["reports"] + [SEED["foreign"]]


@schemathesis.serializer("application/offset+octet-stream")
def tus_chunk(ctx, value):
    """A tus chunk is raw bytes, as application/octet-stream is."""
    from schemathesis.transport.serialization import serialize_binary

    return {"data": serialize_binary(value)}


@schemathesis.hook
def map_path_parameters(ctx, path_parameters):
    if path_parameters and random.random() < 0.5:
        if "id" in path_parameters:
            path_parameters["id"] = random.choice(KNOWN_IDS)
        if "sha256" in path_parameters:
            path_parameters["sha256"] = SEED["photo"]
    return path_parameters


@schemathesis.check
def role_boundaries(ctx, response, case):
    if not 200 <= response.status_code < 300:
        return None
    operation = case.operation.definition.raw.get("operationId")
    allowed = ALLOWED.get(operation)
    if allowed is not None and ROLE not in allowed:
        raise AssertionError(f"{ROLE} got {response.status_code} from {operation}, which the permission rules keep to {sorted(allowed)}")
    report = (case.path_parameters or {}).get("id")
    if report in UNSEEN:
        raise AssertionError(f"{ROLE} got {response.status_code} from {operation} on report {report}, which it may not see (404 expected)")
    return None
