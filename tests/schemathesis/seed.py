"""Seeds a fresh server for the schemathesis run: a grid, a department and
its route, a user of every role, and cases in several statuses (through the
real CLI and the real HTTP API), so that operations have something to find.

Usage: seed.py SERVER_BIN DATA_DIR BASE_URL OUT_JSON
Writes {"tokens": {role: token}, "reports": [ids: submitted, accepted,
dispatched, acknowledged], "foreign": id, "photo": sha256} to OUT_JSON.
"""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
GRID_FILE = ROOT / "sync-server/testdata/grids/xixian.geojson"
PHOTO = ROOT / "tests/testdata/photos/google_pixel_N_E.jpg"
GRID = "411528030104"


def cli(server_bin, data, *args):
    done = subprocess.run([server_bin, "--data", data, *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"seed: `{' '.join(args)}` failed: {done.stderr}")
    return done.stdout


def token(server_bin, data, name, role, *extra):
    return json.loads(cli(server_bin, data, "user", "add", "--name", name, "--role", role, "--json", *extra))["token"]


def uuid7():
    """A UUIDv7 (the server takes no other action id); Python 3.11 has no uuid7."""
    ms = int(time.time() * 1000)
    raw = ms.to_bytes(6, "big") + os.urandom(10)
    raw = raw[:6] + bytes([0x70 | (raw[6] & 0x0F)]) + raw[7:8] + bytes([0x80 | (raw[8] & 0x3F)]) + raw[9:]
    return str(uuid.UUID(bytes=raw))


def inside(cell):
    """A point inside the cell: the mean of its outer ring (the cells are convex enough)."""
    ring = cell["geometry"]["coordinates"][0]
    if cell["geometry"]["type"] == "MultiPolygon":
        ring = ring[0]
    xs, ys = [p[0] for p in ring[:-1]], [p[1] for p in ring[:-1]]
    return sum(ys) / len(ys), sum(xs) / len(xs)


def main():
    server_bin, data, base, out = sys.argv[1:5]
    cli(server_bin, data, "grid", "import", str(GRID_FILE))
    cli(server_bin, data, "department", "add", "--code", "cg", "--name", "城市管理局")
    cli(server_bin, data, "route", "set", "--category", "garbage", "--department", "cg", "--deadline-hours", "48")
    tokens = {
        "resident": token(server_bin, data, "ana", "resident"),
        "grid_worker": token(server_bin, data, "wang", "grid_worker", "--grid", GRID),
        "coordinator": token(server_bin, data, "coco", "coordinator"),
        "department": token(server_bin, data, "cg1", "department", "--department", "cg"),
        "admin": token(server_bin, data, "root", "admin"),
    }
    other_resident = token(server_bin, data, "bo", "resident")
    cells = json.loads(GRID_FILE.read_text())["features"]
    here = inside(next(f for f in cells if f["properties"]["grid_id"] == GRID))
    elsewhere = inside(next(f for f in cells if f["properties"]["grid_id"] != GRID))
    http = requests.Session()

    def report(key, place, n):
        answer = http.post(
            f"{base}/open311/v2/requests.json",
            data={"api_key": key, "service_code": "garbage", "lat": place[0], "long": place[1], "description": f"seeded case {n}"},
            files={"media": ("photo.jpg", PHOTO.read_bytes(), "image/jpeg")},
        )
        if answer.status_code != 200:
            sys.exit(f"seed: Open311 POST answered {answer.status_code}: {answer.text}")
        return answer.json()[0]["service_request_id"]

    reports = [report(tokens["resident"], here, n) for n in range(4)]
    # Another resident's, outside the grid worker's grid: no one but staff
    # and its owner may see it.
    foreign = report(other_resident, elsewhere, 4)

    def act(role, report, body):
        body = {"action_id": uuid7(), **body}
        answer = http.post(f"{base}/v1/reports/{report}/actions", json=body, headers={"Authorization": f"Bearer {tokens[role]}"})
        if answer.status_code != 200:
            sys.exit(f"seed: {body['action']} on {report} answered {answer.status_code}: {answer.text}")

    # One submitted, one accepted, one dispatched, one in progress.
    act("coordinator", reports[1], {"action": "accept"})
    for report in reports[2:]:
        act("coordinator", report, {"action": "accept"})
        act("coordinator", report, {"action": "dispatch", "department": "cg"})
    act("department", reports[3], {"action": "acknowledge"})
    one = http.get(f"{base}/v1/reports/{reports[0]}", headers={"Authorization": f"Bearer {tokens['coordinator']}"}).json()
    seeded = {"tokens": tokens, "reports": reports, "foreign": foreign, "photo": one["photos"][0]["sha256"]}
    Path(out).write_text(json.dumps(seeded))


if __name__ == "__main__":
    main()
