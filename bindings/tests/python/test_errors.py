"""Each way a sync can end with work left is its own typed error, chosen by
the core's typed cause, never by a message's words; the background sync
reports each run to a listener."""

import http.server
import subprocess
import threading
import time

import pytest

from conftest import photo, suishoupai
from test_sync import capture, wait_for


class Unavailable(http.server.BaseHTTPRequestHandler):
    """A server that answers every request 503, as one under maintenance does."""

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = b'{"error":"internal","message":"down for maintenance"}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_HEAD = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def unavailable():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_server_error_carries_its_status(sp, store, unavailable):
    capture(sp, store, 2)
    store.login(unavailable, "some-token")
    with pytest.raises(sp.SuishoupaiError.ServerUnavailable) as caught:
        store.sync()
    assert caught.value.status == 503
    assert (caught.value.summary.pending, caught.value.summary.pushed) == (2, 0)
    assert "maintenance" in str(caught.value)


def test_a_revoked_token_is_token_refused(sp, store, server):
    token = server.add_user("sun", "resident")
    capture(sp, store, 1)
    store.login(server.url, token)
    assert store.sync().pushed == 1
    subprocess.run([server.binary, "--data", str(server.data), "user", "revoke-token", "sun"], check=True, capture_output=True)
    # The running server refuses a revoked token within a second.
    time.sleep(1.0)
    capture(sp, store, 1)
    with pytest.raises(sp.SuishoupaiError.TokenRefused) as caught:
        store.sync()
    assert (caught.value.summary.pending, caught.value.summary.failed) == (1, 0)


class Listener(suishoupai.SyncListener):
    def __init__(self):
        self.runs = []
        self.lock = threading.Lock()

    def on_sync_finished(self, summary, error):
        with self.lock:
            self.runs.append((summary, error))

    def seen(self):
        with self.lock:
            return list(self.runs)


def test_the_background_sync_reports_each_run(sp, store, server, unavailable):
    token = server.add_user("li", "resident")
    capture(sp, store, 1)
    # A first run fails on a server under maintenance: the report waits out a backoff.
    store.login(unavailable, token)
    # Four failures in a row: the next try waits 8 s, time enough to see
    # the background run leave it alone.
    for _ in range(4):
        with pytest.raises(sp.SuishoupaiError.ServerUnavailable):
            store.sync()
    listener = Listener()
    store.set_sync_listener(listener)
    # Back on the real server, the background run respects the backoff first...
    store.login(server.url, token)
    store.set_online(True)
    assert wait_for(lambda: len(listener.seen()) >= 1, 10)
    summary, error = listener.seen()[0]
    assert isinstance(error, sp.SuishoupaiError.RetryLater), error
    assert error.count == 1 and summary.pending == 1
    # ...and sends it once the backoff is over, saying so.
    assert wait_for(lambda: any(e is None and s.pushed == 1 for s, e in listener.seen()), 30)
    store.set_online(False)
    store.set_sync_listener(None)
    assert store.pending_count() == 0


def test_a_listener_that_raises_does_not_stop_background_sync(sp, store, server):
    token = server.add_user("zhao", "resident")
    store.login(server.url, token)

    class Broken(suishoupai.SyncListener):
        def __init__(self):
            self.calls = 0

        def on_sync_finished(self, summary, error):
            self.calls += 1
            raise RuntimeError("UI went away")

    broken = Broken()
    store.set_sync_listener(broken)
    store.set_online(True)
    capture(sp, store, 1)
    assert wait_for(lambda: store.pending_count() == 0, 20)
    assert wait_for(lambda: broken.calls >= 1, 5)
    store.set_online(False)
