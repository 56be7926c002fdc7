"""Sync through the bindings against a real suishoupai-server on loopback."""

import asyncio
import os
import subprocess
import threading
import time
import uuid

import pytest

from conftest import photo, suishoupai


def uuid7():
    """A UUIDv7 (RFC 9562), as the server wants action ids: Python 3.11 has none."""
    ms = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    return uuid.UUID(int=(ms << 80) | (0x7 << 76) | (((rand >> 62) & 0xFFF) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1)))

PHOTOS = ["google_pixel_N_E.jpg", "canon_eos600d_N_W.jpg", "samsung_sm-g930f_N_E.jpg", "nikon_coolpixp6000_N_E.jpg",
          "apple_iphone4_N_E.jpg", "dji_flir_N_W_below_sea_level.jpg"]


class Recorder(suishoupai.SyncObserver):
    """A SyncObserver that remembers every call."""

    def __init__(self):
        self.calls = []
        self.lock = threading.Lock()

    def on_progress(self, done, total):
        with self.lock:
            self.calls.append((done, total))


def capture(sp, store, count, **fields):
    return [store.create_report(sp.ReportDraft(category="garbage", photo_paths=[photo(PHOTOS[i % len(PHOTOS)])], note=f"#{i}", **fields))
            for i in range(count)]


def server_ids(server, coordinator):
    status, body = server.api(coordinator, "GET", "/v1/reports?limit=500")
    assert status == 200, body
    return [r["id"] for r in body["reports"]]


def wait_for(predicate, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_sync_with_progress_observer(sp, store, server):
    token = server.add_user("zhang", "resident")
    coordinator = server.add_user("chen", "coordinator")
    made = capture(sp, store, 3)
    store.login(server.url, token)
    observer = Recorder()
    summary = store.sync(observer)
    assert isinstance(summary, sp.SyncSummary)
    assert summary.pushed == 3
    assert summary.uploaded_bytes == sum(p.bytes for r in made for p in r.photos)
    assert summary.skipped_bytes == 0
    assert observer.calls[0] == (0, 3)
    assert observer.calls[-1] == (3, 3)
    assert all(total == 3 for _, total in observer.calls)
    assert [d for d, _ in observer.calls] == sorted(d for d, _ in observer.calls)
    assert store.pending_count() == 0
    assert {r.sync_state for r in store.list_reports().reports} == {sp.SyncState.SYNCED}
    assert sorted(server_ids(server, coordinator)) == sorted(r.id for r in made)
    # Nothing left: the next run sends nothing, and needs no observer.
    again = store.sync()
    assert (again.pushed, again.uploaded_bytes) == (0, 0)


def test_coordinator_status_change_is_pulled(sp, store, server):
    token = server.add_user("zhao", "resident")
    coordinator = server.add_user("chen", "coordinator")
    [report, other] = capture(sp, store, 2)
    store.login(server.url, token)
    store.sync()
    subprocess.run([server.binary, "--data", str(server.data), "department", "add", "--code", "d1", "--name", "城管"],
                   check=True, capture_output=True)
    for action in [{"action": "accept"},
                   {"action": "dispatch", "public_note": "城管处理", "department": "d1", "due_at": "2099-01-01T00:00:00Z"}]:
        status, body = server.api(coordinator, "POST", f"/v1/reports/{report.id}/actions",
                                  {"action_id": str(uuid7()), **action})
        assert status == 200, body
    summary = store.sync()
    assert summary.pulled >= 1 and summary.pushed == 0
    assert store.get_report(report.id).status == sp.ReportStatus.DISPATCHED
    assert store.get_report(other.id).status == sp.ReportStatus.SUBMITTED


def test_set_online_syncs_in_the_background(sp, store, server):
    token = server.add_user("wang", "resident")
    coordinator = server.add_user("chen", "coordinator")
    made = capture(sp, store, 2)
    store.login(server.url, token)
    started = time.monotonic()
    store.set_online(True)
    assert time.monotonic() - started < 0.2, "set_online must not wait for the sync"
    assert wait_for(lambda: store.pending_count() == 0), "the pending reports were not sent"
    assert sorted(server_ids(server, coordinator)) == sorted(r.id for r in made)
    # While online, a new capture is sent soon after it is made.
    [late] = capture(sp, store, 1)
    assert wait_for(lambda: store.get_report(late.id).sync_state == sp.SyncState.SYNCED)
    # Offline: new captures wait.
    store.set_online(False)
    [offline] = capture(sp, store, 1)
    time.sleep(1.0)
    assert store.get_report(offline.id).sync_state == sp.SyncState.PENDING
    # Back online: sent.
    store.set_online(True)
    assert wait_for(lambda: store.pending_count() == 0)
    assert len(server_ids(server, coordinator)) == 4
    store.set_online(False)


def test_set_online_backs_off_while_the_server_is_down_then_delivers(sp, store, server_binary, tmp_path):
    from conftest import Server
    first = Server(server_binary, tmp_path / "server")
    token = first.add_user("liu", "resident")
    coordinator = first.add_user("chen", "coordinator")
    url = first.url
    first.stop()
    [report] = capture(sp, store, 1)
    store.login(url, token)
    store.set_online(True)
    # The run fails and the report waits out its backoff, with the reason.
    assert wait_for(lambda: store.get_report(report.id).sync_error is not None, 15)
    assert store.pending_count() == 1
    # The server comes back on the same address: a later automatic run,
    # once the backoff has expired, delivers the report with no call from us.
    time.sleep(1.5)
    again = Server(server_binary, tmp_path / "server", listen=url.removeprefix("http://"))
    try:
        assert wait_for(lambda: store.pending_count() == 0, 40), store.get_report(report.id).sync_error
        assert server_ids(again, coordinator) == [report.id]
    finally:
        store.set_online(False)
        again.stop()


def test_async_sync(sp, store, server):
    token = server.add_user("sun", "resident")
    capture(sp, store, 2)
    store.login(server.url, token)
    observer = Recorder()

    async def main():
        # The event loop stays free while the sync runs on its own thread.
        ticks = 0
        task = asyncio.ensure_future(store.sync_async(observer))
        while not task.done():
            ticks += 1
            await asyncio.sleep(0.001)
        return await task, ticks

    summary, ticks = asyncio.run(main())
    assert summary.pushed == 2
    assert observer.calls[-1] == (2, 2)
    assert ticks > 1
    assert store.pending_count() == 0


def test_async_sync_errors_are_typed(sp, store):
    capture(sp, store, 1)
    with pytest.raises(sp.SuishoupaiError.NotLoggedIn):
        asyncio.run(store.sync_async())


def test_cancelling_async_sync_stops_the_run(sp, store, server):
    token = server.add_user("zhou", "resident")
    coordinator = server.add_user("chen", "coordinator")
    made = capture(sp, store, 3)
    store.login(server.url, token)
    entered, release, left = threading.Event(), threading.Event(), threading.Event()

    class Blocking(sp.SyncObserver):
        """Holds the run at its first progress call until the task is cancelled."""

        def on_progress(self, done, total):
            if done == 0:
                entered.set()
                release.wait(10)
                left.set()

    async def main():
        task = asyncio.ensure_future(store.sync_async(Blocking()))
        while not entered.is_set():
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    release.set()
    assert left.wait(10)
    time.sleep(1.0)  # time enough for a run that did not stop to send everything
    assert store.pending_count() == 3, "the cancelled run went on"
    assert server_ids(server, coordinator) == []
    # Nothing was lost: the next run sends them all.
    assert store.sync().pushed == 3
    assert sorted(server_ids(server, coordinator)) == sorted(r.id for r in made)


def test_observer_that_raises_does_not_break_sync(sp, store, server):
    token = server.add_user("qian", "resident")
    capture(sp, store, 1)
    store.login(server.url, token)

    class Broken(sp.SyncObserver):
        def on_progress(self, done, total):
            raise RuntimeError("UI went away")

    assert store.sync(Broken()).pushed == 1


def test_refused_token_asks_for_login(sp, store, server):
    capture(sp, store, 1)
    store.login(server.url, "not-a-real-token")
    with pytest.raises(sp.SuishoupaiError.TokenRefused) as caught:
        store.sync()
    assert caught.value.summary.pending == 1
    assert store.pending_count() == 1


def test_server_refusal_carries_the_reason_and_can_be_retried(sp, store, server):
    # A resident's device claims to be a grid worker: the server refuses
    # that report for good, with its reason.
    token = server.add_user("wu", "resident")
    coordinator = server.add_user("chen", "coordinator")
    [ok] = capture(sp, store, 1)
    [refused] = capture(sp, store, 1, role=sp.ReporterRole.GRID_WORKER, grid_id="G-1")
    store.login(server.url, token)
    with pytest.raises(sp.SuishoupaiError.ReportsRefused, match="registered as a resident") as caught:
        store.sync()
    assert caught.value.count == 1
    assert (caught.value.summary.pushed, caught.value.summary.failed, caught.value.summary.pending) == (1, 1, 0)
    assert store.get_report(ok.id).sync_state == sp.SyncState.SYNCED
    failed = store.get_report(refused.id)
    assert failed.sync_state == sp.SyncState.FAILED
    assert "registered as a resident" in failed.sync_error
    assert server_ids(server, coordinator) == [ok.id]
    assert store.retry_failed() == 1
    assert store.get_report(refused.id).sync_state == sp.SyncState.PENDING


def test_two_devices_of_one_user(sp, server, tmp_path):
    token = server.add_user("he", "grid_worker", grid="G-3")
    coordinator = server.add_user("chen", "coordinator")
    phone = sp.Store(str(tmp_path / "phone"))
    tablet = sp.Store(str(tmp_path / "tablet"))
    [a] = capture(sp, phone, 1, role=sp.ReporterRole.GRID_WORKER, grid_id="G-3")
    # The same photo from the second device is not uploaded again.
    [b] = capture(sp, tablet, 1, role=sp.ReporterRole.GRID_WORKER, grid_id="G-3")
    for device in (phone, tablet):
        device.login(server.url, token)
    first = phone.sync()
    second = tablet.sync()
    assert first.pushed == second.pushed == 1
    assert second.uploaded_bytes == 0 and second.skipped_bytes == b.photos[0].bytes
    assert sorted(server_ids(server, coordinator)) == sorted([a.id, b.id])
