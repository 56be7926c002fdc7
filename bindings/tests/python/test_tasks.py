"""Cases and actions through the bindings: offline judgement, the queue, and
a sync against a small stand-in that answers the protocol's task and action
calls (the core's Rust tests carry the weight; these check the crossing)."""

import http.server
import json
import threading

import pytest

from conftest import PHOTOS, photo

CASE = "01936f3e-1c2d-7a8b-9c0d-112233445566"
SHA = "9599aa9d8e19db288baefe51d777224f6a79b2ae7d0a2be36168d06486825ec8"
THUMBNAIL = (PHOTOS / "kodak_cx7530_S_E_tiny.jpg").read_bytes()


class StandIn(http.server.BaseHTTPRequestHandler):
    """GET /v1/tasks gives a grid worker one dispatched case of their grid;
    an action on it is taken and answered with the case after it."""

    actions = []

    def _answer(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/v1/tasks":
            case = {"id": CASE, "category": "garbage", "note": "路口垃圾", "location": None,
                    "photos": [{"sha256": SHA, "width": 1600, "height": 1200, "bytes": 200000}],
                    "created_at": "2026-12-01T08:00:00.000Z", "status": "dispatched", "grid_id": "G-7",
                    "department": "cg", "due_at": "2099-12-03T18:00:00+08:00", "overdue": False,
                    "allowed_actions": ["rectify"], "history": []}
            self._answer(200, {"me": {"name": "李", "role": "grid_worker", "grid_id": "G-7"}, "tasks": [case]})
        elif self.path.startswith("/v1/changes"):
            self._answer(200, {"changes": [], "next_cursor": None, "has_more": False})
        elif self.path == f"/v1/photos/{SHA}/thumbnail":
            self._answer(200, THUMBNAIL, "image/jpeg")
        else:
            self._answer(404, {"error": "not_found", "message": "no such route"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
        if self.path == "/v1/uploads/batch":
            self._answer(200, {"uploads": [{"sha256": u["sha256"], "offset": u["length"], "length": u["length"], "complete": True}
                                           for u in body["uploads"]]})
        elif self.path == f"/v1/reports/{CASE}/actions":
            StandIn.actions.append(body)
            self._answer(200, {"id": CASE, "status": "rectified", "due_at": None, "overdue": False,
                               "allowed_actions": ["verify", "reopen"], "more": "ignored"})
        else:
            self._answer(404, {"error": "not_found", "message": "no such route"})

    def log_message(self, *args):
        pass


@pytest.fixture
def stand_in():
    StandIn.actions = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_no_tasks_before_a_sync(sp, store):
    assert store.tasks() == []
    assert store.me() is None
    with pytest.raises(sp.SuishoupaiError.NotFound):
        store.act(CASE, sp.TaskAction(action=sp.Action.VERIFY))


def test_actions_are_judged_offline_queued_and_sent(sp, store, stand_in):
    store.login(stand_in, "t0k")
    summary = store.sync()
    assert summary.tasks == 1
    assert store.me() == sp.Me(name="李", role=sp.Role.GRID_WORKER, grid_id="G-7", department=None)
    [task] = store.tasks()
    assert (task.id, task.status, task.allowed_actions, task.overdue) == (CASE, sp.ReportStatus.DISPATCHED, [sp.Action.RECTIFY], False)
    assert store.thumbnail_bytes(task.photos[0].sha256) == THUMBNAIL

    with pytest.raises(sp.SuishoupaiError.ActionNotAllowed) as caught:
        store.act(CASE, sp.TaskAction(action=sp.Action.VERIFY))
    assert caught.value.status == sp.ReportStatus.DISPATCHED
    assert caught.value.allowed_actions == [sp.Action.RECTIFY]
    with pytest.raises(sp.SuishoupaiError.InvalidInput):
        store.act(CASE, sp.TaskAction(action=sp.Action.RECTIFY, note="已清理"))  # no after-photo
    assert store.pending_action_count() == 0, "refusals queue nothing"

    taken = store.act(CASE, sp.TaskAction(action=sp.Action.RECTIFY, note="已清理", photo_paths=[photo("no_exif.jpg")]))
    assert (taken.action, taken.sync_state, len(taken.photos)) == (sp.Action.RECTIFY, sp.SyncState.PENDING, 1)
    detail = store.task(CASE)
    assert detail.task.status == sp.ReportStatus.RECTIFIED and detail.task.pending_actions == 1
    assert [a.action_id for a in detail.actions] == [taken.action_id]
    assert StandIn.actions == [], "acting needs no network"

    summary = store.sync()
    assert (summary.actions_sent, summary.actions_pending) == (1, 0)
    assert [a["action_id"] for a in StandIn.actions] == [taken.action_id]
    assert StandIn.actions[0]["photos"] == [taken.photos[0].sha256]
    assert store.task(CASE).actions[0].sync_state == sp.SyncState.SYNCED


def test_a_report_fixed_on_the_spot_keeps_its_after_photos(sp, store):
    report = store.create_report(sp.ReportDraft(category="garbage", photo_paths=[photo("google_pixel_N_E.jpg")],
                                                fixed_on_spot=True, after_photo_paths=[photo("no_exif.jpg")]))
    assert report.fixed_on_spot and report.role == sp.ReporterRole.GRID_WORKER
    assert len(report.after_photos) == 1
    assert store.get_report(report.id) == report
    with pytest.raises(sp.SuishoupaiError.InvalidInput):
        store.create_report(sp.ReportDraft(category="garbage", photo_paths=[photo("google_pixel_N_E.jpg")], fixed_on_spot=True))
    with pytest.raises(sp.SuishoupaiError.InvalidInput):
        store.create_report(sp.ReportDraft(category="garbage", photo_paths=[photo("google_pixel_N_E.jpg")],
                                           after_photo_paths=[photo("no_exif.jpg")]))
    assert store.report_count() == 1
