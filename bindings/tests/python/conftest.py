"""Fixtures for the Python binding tests.

run.sh sets SUISHOUPAI_PY_DIR (the generated module and libsuishoupai.so)
and SUISHOUPAI_SERVER (the suishoupai-server binary, for the sync tests).
"""

import json
import os
import pathlib
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[2]
PHOTOS = REPO / "tests" / "testdata" / "photos"
BAD = REPO / "tests" / "testdata" / "bad"

_py_dir = os.environ.get("SUISHOUPAI_PY_DIR")
if not _py_dir:
    raise RuntimeError("set SUISHOUPAI_PY_DIR to the generated python/ directory (bindings/tests/run.sh does)")
sys.path.insert(0, _py_dir)

import suishoupai  # noqa: E402


@pytest.fixture
def sp():
    return suishoupai


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "device"


@pytest.fixture
def store(data_dir):
    return suishoupai.Store(str(data_dir))


def photo(name):
    return str(PHOTOS / name)


def bad(name):
    return str(BAD / name)


def stored_files(data_dir):
    """Every photo and thumbnail file the store holds."""
    root = pathlib.Path(data_dir)
    return sorted(p for kind in ("photos", "thumbnails") for p in (root / kind).rglob("*") if p.is_file())


class Server:
    """A real suishoupai-server on a random loopback port."""

    def __init__(self, binary, data, listen="127.0.0.1:0"):
        self.binary = binary
        self.data = data
        self.proc = subprocess.Popen(
            [binary, "--data", str(data), "serve", "--listen", listen],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = None
        for line in self.proc.stdout:
            if "listening on http://" in line:
                self.url = "http://" + line.split("http://", 1)[1].strip().rstrip("/")
                break
        if self.url is None:
            self.proc.wait(timeout=10)
            raise RuntimeError(f"suishoupai-server exited ({self.proc.returncode}) before listening")
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def add_user(self, name, role, grid=None):
        cmd = [self.binary, "--data", str(self.data), "user", "add", "--name", name, "--role", role, "--json"]
        if grid:
            cmd += ["--grid", grid]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        user = json.loads(out)
        assert user["name"] == name and user["role"] == role
        return user["token"]

    def api(self, token, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="session")
def server_binary():
    binary = os.environ.get("SUISHOUPAI_SERVER")
    if not binary or not os.access(binary, os.X_OK):
        pytest.skip("SUISHOUPAI_SERVER is not set to a built suishoupai-server")
    return binary


@pytest.fixture
def server(server_binary, tmp_path):
    s = Server(server_binary, tmp_path / "server")
    yield s
    s.stop()
