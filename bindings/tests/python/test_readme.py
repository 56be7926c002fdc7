"""The Python example in bindings/README.md runs as shown."""

import os
import re
import socket
import subprocess
import sys

from conftest import REPO

README = REPO / "bindings" / "README.md"


def example():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) == 1, "one Python example in the README"
    return blocks[0]


def run_example(tmp_path, **env):
    script = tmp_path / "example.py"
    script.write_text(example())
    environment = dict(os.environ, PYTHONPATH=os.environ["SUISHOUPAI_PY_DIR"], **env)
    done = subprocess.run([sys.executable, str(script)], cwd=REPO, env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_readme_example_offline(tmp_path):
    out = run_example(tmp_path, SUISHOUPAI_URL=f"http://127.0.0.1:{closed_port()}")
    assert "saved " in out and "SyncState.PENDING" in out
    assert "AMap marker at 39.91650, 116.41020" in out
    assert "cannot use that photo: corrupt photo" in out
    assert "illegal_construction 违建" in out
    assert "offline, the report waits" in out
    assert out.rstrip().endswith("1 report(s) still to send")


def test_readme_example_against_the_server(tmp_path, server):
    token = server.add_user("readme", "resident")
    out = run_example(tmp_path, SUISHOUPAI_URL=server.url, SUISHOUPAI_TOKEN=token)
    assert "sent 1 of 1" in out
    assert "pushed 1 report(s)" in out
    assert out.rstrip().endswith("0 report(s) still to send")
