"""`fmkit pull` fetches into fmkit's caches, atomically, and fails cleanly when it cannot."""

from __future__ import annotations

import functools
import http.server
import json
import threading

import pytest

from fmkit import catalog, environment


@pytest.fixture
def local_asset_server(tmp_path, monkeypatch):
    """A loopback HTTP server standing in for the GitHub release that hosts YOLO weights."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "yolo11n.pt").write_bytes(b"weights" * 1000)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(catalog.kinds, "YOLO_ASSET_URL", f"http://127.0.0.1:{server.server_port}/{{name}}")
    monkeypatch.setattr(catalog.fetch, "network_reachable", lambda host=None: True)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    yield served
    server.shutdown()


def test_pull_downloads_yolo_weights_into_fmkit_home(cli, local_asset_server):
    r = cli(["pull", "yolo11n", "--json"])
    assert r.exit_code == 0, r.stderr
    row = json.loads(r.stdout)
    target = environment.fmkit_home() / "weights" / "yolo11n.pt"
    assert row == {"model": "yolo11n", "status": "downloaded", "path": str(target)}
    assert target.read_bytes() == (local_asset_server / "yolo11n.pt").read_bytes()
    assert not list(target.parent.glob(".*.part"))
    again = json.loads(cli(["pull", "yolo11n", "--json"]).stdout)
    assert again["status"] == "present"


def test_failed_download_leaves_nothing_and_exits_1(cli, local_asset_server):
    (local_asset_server / "yolo11n.pt").unlink()  # the server now answers 404
    r = cli(["pull", "yolo11n"])
    assert r.exit_code == 1 and "downloading yolo11n.pt failed" in r.stderr
    assert not (environment.fmkit_home() / "weights" / "yolo11n.pt").exists()
    assert not list((environment.fmkit_home() / "weights").glob(".*"))


def test_pull_continues_past_a_failure_and_reports_each(cli):
    r = cli(["pull", "minilm", "gpt2", "--offline", "--json"])
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["status"] for row in rows] == ["present", "error"]
    assert r.exit_code == 1


def test_hub_downloads_show_their_progress_bars(cli, monkeypatch):
    """fmkit pull shows Hugging Face's download bars (the Session hides them for every other
    command); --json and --quiet keep them hidden."""
    import fmkit.api_setup

    seen = []

    def pull(self, names=None, *, progress=None):
        import os

        seen.append(os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS"))
        return iter([])

    monkeypatch.setattr(fmkit.api_setup.SetupMethods, "pull", pull)
    assert cli(["pull", "gpt2"]).exit_code == 0
    assert cli(["pull", "gpt2", "--json"]).exit_code == 0
    assert seen == ["0", "1"]


def test_one_name_from_python_is_one_model():
    import fmkit

    [row] = list(fmkit.Session("laptop", offline=True).pull("minilm"))
    assert (row.model, row.status) == ("minilm", "present")
