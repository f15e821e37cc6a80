"""S3Store against a real S3 server (SeaweedFS on 127.0.0.1, see tests/seaweed.py): signatures,
permissions, pagination and presigned URLs are the server's, not a mock's."""

from __future__ import annotations

import pickle
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from fmkit.errors import AccessDenied, BadInput, CredentialsError, FmkitError, OutputError, RuntimeFailure
from fmkit.io.s3 import S3Store, parse
from seaweed import admin_client, bucket_name, clean_aws_env, new_bucket

KOREAN = "uploads/고양이 사진.jpg"


@pytest.fixture
def store(s3_env):
    return S3Store()




def assert_no_secret(server, *texts):
    for text in texts:
        assert server.admin_secret not in text
        assert server.reader_secret not in text


def test_import_needs_no_boto3_or_torch():
    code = "import sys, fmkit.io.s3; print(sorted(m for m in ('boto3', 'botocore', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_parse_and_join():
    assert parse("s3://my-bucket.v2/uploads/a b.jpg") == ("my-bucket.v2", "uploads/a b.jpg")
    assert parse("s3://abc") == ("abc", "")
    for bad in ("s3://ab/x", "s3://Upper/x", "s3://under_score/x", "s3://-lead/x", "s3://a..b/x",
                "s3://" + "a" * 64 + "/x", "s3:///x", "http://b/x"):
        with pytest.raises(BadInput) as err:
            parse(bad)
        assert err.value.exit_code == 2
    assert S3Store().join("s3://b1c/results", "sub/x.json") == "s3://b1c/results/sub/x.json"
    assert S3Store().join("s3://b1c/results/", "x.json") == "s3://b1c/results/x.json"
    assert S3Store().join("s3://b1c", "x.json") == "s3://b1c/x.json"


def test_write_read_stat_list(store, bucket):
    root = f"s3://{bucket}/uploads"
    files = {"uploads/a.jpg": b"A" * 10, "uploads/sub/b.jpg": b"BB", KOREAN: "고양이".encode(),
             "uploads/with space.png": b"sp", "uploads/empty.jpg": b"", "uploads/.hidden.jpg": b"h",
             "uploads/.tmp/c.jpg": b"c", "results/r.json": b"{}"}
    for key, data in files.items():
        store.write_bytes(f"s3://{bucket}/{key}", data)
    store.client.put_object(Bucket=bucket, Key="uploads/sub/", Body=b"")  # a console-made folder marker

    names = sorted(e.name for e in store.list(root))
    assert names == sorted(["a.jpg", "sub/b.jpg", "고양이 사진.jpg", "with space.png", "empty.jpg"])
    assert sorted(e.name for e in store.list(root + "/", recursive=False)) == sorted(
        ["a.jpg", "고양이 사진.jpg", "with space.png", "empty.jpg"])

    entry = store.stat(f"s3://{bucket}/{KOREAN}")
    assert entry.uri == f"s3://{bucket}/{KOREAN}" and entry.name == "고양이 사진.jpg"
    assert entry.size == len("고양이".encode()) and entry.version.endswith(f":{entry.size}")
    assert abs(entry.mtime - time.time()) < 300
    listed = {e.name: e for e in store.list(root)}
    assert listed["고양이 사진.jpg"].version == entry.version
    assert store.read_bytes(entry.uri) == "고양이".encode()
    with store.open(f"s3://{bucket}/uploads/a.jpg") as f:
        f.seek(5)
        assert f.read() == b"A" * 5
    empty = store.stat(f"s3://{bucket}/uploads/empty.jpg")
    assert empty.size == 0 and store.read_bytes(empty.uri) == b""
    assert store.stat(f"s3://{bucket}/uploads/missing.jpg") is None
    assert store.exists(f"s3://{bucket}/uploads/a.jpg") and not store.exists(f"s3://{bucket}/uploads/zzz")
    assert store.is_folder(f"s3://{bucket}/uploads") and store.is_folder(f"s3://{bucket}/uploads/sub/")
    assert not store.is_folder(f"s3://{bucket}/nothing-here")
    assert not store.is_folder(f"s3://{bucket}/uploads/a.jpg")
    # An output folder inside the listed one is left out.
    assert sorted(e.name for e in store.list(f"s3://{bucket}", exclude=f"s3://{bucket}/results/")) == sorted(
        "uploads/" + n for n in names)


def test_glob(store, bucket):
    for key in ("uploads/a.jpg", "uploads/b.png", "uploads/sub/c.jpg", "uploads/.d.jpg", KOREAN, "other/e.jpg"):
        store.write_bytes(f"s3://{bucket}/{key}", b"x")
    names = lambda pattern: sorted(e.name for e in store.glob(f"s3://{bucket}/{pattern}"))  # noqa: E731
    assert names("uploads/*.jpg") == ["a.jpg", "고양이 사진.jpg"]
    assert names("uploads/**.jpg") == ["a.jpg", "sub/c.jpg", "고양이 사진.jpg"]
    assert names("uploads/*/*.jpg") == ["sub/c.jpg"]
    assert names("up*/?.png") == ["uploads/b.png"]
    assert names("uploads/a.jpg") == ["a.jpg"]
    assert names("uploads/nothing*") == []


def test_no_clobber_force_and_version(store, bucket):
    uri = f"s3://{bucket}/results/x.json"
    store.write_bytes(uri, '{"a": 1}')
    first = store.stat(uri)
    with pytest.raises(OutputError) as err:
        store.write_bytes(uri, b"other")
    assert str(err.value) == f"{uri} already exists (pass force=True to overwrite it)"  # a Python caller
    assert err.value.exit_code == 2
    assert store.read_bytes(uri) == b'{"a": 1}'
    store.write_bytes(uri, b'{"a": 22}', force=True)
    assert store.read_bytes(uri) == b'{"a": 22}'
    assert store.stat(uri).version != first.version
    head = store.client.head_object(Bucket=bucket, Key="results/x.json")
    assert head["ContentType"] == "application/json"
    store.delete(uri)
    assert store.stat(uri) is None
    store.delete(uri)  # deleting what is gone is fine, as in S3


def test_large_body_uses_multipart_and_keeps_no_clobber(store, bucket):
    uri = f"s3://{bucket}/results/big.bin"
    body = bytes(range(256)) * (9 * 4096)  # 9 MiB: above the single-put limit
    store.write_bytes(uri, body)
    assert "-" in store.stat(uri).version.split(":")[0]  # a multipart ETag: '<md5>-<parts>'
    assert store.read_bytes(uri) == body
    with pytest.raises(OutputError):
        store.write_bytes(uri, body)
    with pytest.raises(RuntimeFailure, match="more than fmkit reads at once"):
        S3Store(max_read_bytes=1024).read_bytes(uri)


def test_listing_1000_keys_is_paginated_and_streamed(s3_env, bucket):
    client = admin_client(s3_env)
    keys = [f"uploads/img-{i:04d}.jpg" for i in range(1000)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: client.put_object(Bucket=bucket, Key=k, Body=b"x"), keys))
    store = S3Store(page_size=100)
    pages = []
    store.client.meta.events.register("before-parameter-build.s3.ListObjectsV2",
                                      lambda params, **kw: pages.append(dict(params)))
    it = store.list(f"s3://{bucket}/uploads/")
    first = next(it)
    assert first.name == "img-0000.jpg"
    assert len(pages) == 1  # streaming: one page fetched so far, not the whole listing
    rest = list(it)
    assert [e.name for e in [first, *rest]] == [k.split("/")[1] for k in keys]
    assert len(pages) == 10 and all(p["MaxKeys"] == 100 for p in pages)


def test_presigned_url_is_fetchable(store, bucket):
    uri = f"s3://{bucket}/results/고양이 사진.jpg.json"
    store.write_bytes(uri, b'{"ok": true}')
    url = store.presign(uri, 60)
    assert url.startswith(store.endpoint) and "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.read() == b'{"ok": true}'
    with pytest.raises(BadInput):
        store.presign(uri, 8 * 24 * 3600)


def test_store_pickles_and_rebuilds_its_client(store, bucket):
    store.write_bytes(f"s3://{bucket}/uploads/a.jpg", b"a")
    copy = pickle.loads(pickle.dumps(store))
    assert copy._client is None
    assert [e.name for e in copy.list(f"s3://{bucket}/uploads")] == ["a.jpg"]


def test_prepare_folder(store, bucket):
    store.prepare_folder(f"s3://{bucket}/results/")  # exists, reachable: no error
    missing = bucket_name()
    with pytest.raises(RuntimeFailure) as err:
        store.prepare_folder(f"s3://{missing}/results/")
    assert str(err.value) == f"bucket '{missing}' does not exist (create it with: fmkit bucket init s3://{missing})"
    assert err.value.exit_code == 1


# --- errors: one line each, the right exit code, and never the secret ---

def test_no_credentials_anywhere(s3_server, monkeypatch, tmp_path, debug_logs):
    clean_aws_env(monkeypatch, tmp_path / "empty-home")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    start = time.monotonic()
    with pytest.raises(CredentialsError) as err:  # a type, so the gallery and bucket check need not read words
        S3Store().prepare_folder("s3://some-bucket/results/")
    assert time.monotonic() - start < 5
    assert err.value.message == "no AWS credentials found"
    assert "AWS_ACCESS_KEY_ID" in err.value.hint and "credentials" in err.value.hint and "--aws-profile" in err.value.hint
    with pytest.raises(RuntimeFailure, match="no AWS credentials found"):
        S3Store().presign("s3://some-bucket/results/x.json", 60)


def test_wrong_secret(s3_env, bucket, monkeypatch, debug_logs, capsys):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "WRONG-secret-" + s3_env.admin_secret[::-1])
    with pytest.raises(CredentialsError) as err:
        list(S3Store().list(f"s3://{bucket}/uploads/"))
    assert err.value.message == f"the secret key was rejected by {s3_env.endpoint} (SignatureDoesNotMatch)"
    assert "access key fm...in" in err.value.hint  # masked: short test keys keep 2+2 characters
    captured = capsys.readouterr()
    assert_no_secret(s3_env, str(err.value), debug_logs.text, captured.out, captured.err)
    assert s3_env.admin_secret[::-1] not in str(err.value) + debug_logs.text


def test_unknown_access_key(s3_env, bucket, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "NOSUCHKEY1234567")
    with pytest.raises(CredentialsError, match=r"the access key NOSU\.\.\.4567 was rejected by .*InvalidAccessKeyId"):
        S3Store().prepare_folder(f"s3://{bucket}/uploads/")


def test_access_denied_names_action_and_key(s3_env, bucket, monkeypatch, debug_logs, capsys):
    for var, value in s3_env.env(reader=True).items():
        monkeypatch.setenv(var, value)
    store = S3Store()
    store.prepare_folder(f"s3://{bucket}/results/")  # the reader may list
    uri = f"s3://{bucket}/results/x.json"
    with pytest.raises(AccessDenied) as err:
        store.write_bytes(uri, b"{}")
    assert err.value.message == f"access denied: PutObject on {uri}"
    assert "s3:PutObject" in err.value.hint and f"fmkit bucket policy s3://{bucket}" in err.value.hint
    captured = capsys.readouterr()
    assert_no_secret(s3_env, str(err.value), debug_logs.text, captured.out, captured.err)


def test_secret_never_logged_on_success(s3_env, bucket, debug_logs):
    store = S3Store()
    store.write_bytes(f"s3://{bucket}/uploads/a.jpg", b"a")
    assert [e.name for e in store.list(f"s3://{bucket}/uploads")] == ["a.jpg"]
    assert "PutObject" in debug_logs.text or "put_object" in debug_logs.text.lower()  # DEBUG logs did flow
    assert_no_secret(s3_env, debug_logs.text)


def test_unreachable_endpoint_fails_fast(s3_env, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    endpoint = f"http://127.0.0.1:{port}"
    start = time.monotonic()
    with pytest.raises(RuntimeFailure) as err:
        S3Store(endpoint_url=endpoint).prepare_folder("s3://some-bucket/results/")
    assert time.monotonic() - start < 15  # refused at once when idle; room for a busy CI machine
    assert err.value.message == f"cannot reach {endpoint}"


def test_endpoint_that_never_answers_a_connect_fails_fast(s3_env):
    """A listener whose accept queue is full drops new SYNs, like a firewalled host: the connect
    timeout (3 s) and the attempt limit (2) bound the wait."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    try:
        start = time.monotonic()
        with pytest.raises(RuntimeFailure) as err:
            S3Store(endpoint_url=f"http://127.0.0.1:{port}").prepare_folder("s3://some-bucket/results/")
        # ~7 s on an idle machine (2 x the 3 s connect timeout); the bound leaves room for a CI
        # machine whose cores are busy (building boto3's client alone is seconds of CPU there),
        # and still fails botocore's defaults (60 s connect timeout, more retries) by minutes.
        assert time.monotonic() - start < 15
        assert err.value.message == f"cannot reach http://127.0.0.1:{port}"
    finally:
        for sock in (*fillers, server):
            sock.close()


def test_bad_endpoint_and_profile_are_usage_errors(s3_env):
    with pytest.raises(BadInput):
        S3Store(endpoint_url="localhost:9000")
    with pytest.raises(BadInput, match="AWS profile 'nope' not found") as err:
        S3Store(profile="nope").prepare_folder("s3://some-bucket/x/")
    assert err.value.exit_code == 2


def test_profile_from_shared_credentials_file(s3_server, monkeypatch, tmp_path):
    home = tmp_path / "home"
    clean_aws_env(monkeypatch, home)
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(
        f"[course]\naws_access_key_id = {s3_server.admin_key}\naws_secret_access_key = {s3_server.admin_secret}\n")
    (home / ".aws" / "config").write_text(f"[profile course]\nregion = us-east-1\nendpoint_url = {s3_server.endpoint}\n")
    bucket = new_bucket(s3_server)
    store = S3Store(profile="course")   # the endpoint comes from the profile: path-style is chosen
    store.write_bytes(f"s3://{bucket}/uploads/a.jpg", b"a")
    assert store.endpoint == s3_server.endpoint
    assert [e.name for e in store.list(f"s3://{bucket}/uploads")] == ["a.jpg"]
    monkeypatch.setenv("AWS_PROFILE", "course")
    assert S3Store().exists(f"s3://{bucket}/uploads/a.jpg")
    from fmkit.bucket.credentials import describe

    info = describe(S3Store())   # the endpoint named is the profile's, not AWS's
    assert (info["source"], info["profile"], info["endpoint"]) == ("shared-credentials-file", "course",
                                                                   s3_server.endpoint)


def test_errors_are_fmkit_errors_with_one_line(s3_env, bucket):
    store = S3Store()
    with pytest.raises(RuntimeFailure) as err:
        store.read_bytes(f"s3://{bucket}/uploads/missing.jpg")
    assert str(err.value) == f"s3://{bucket}/uploads/missing.jpg does not exist"
    for e in (err.value,):
        assert isinstance(e, FmkitError) and "\n" not in str(e)


def test_stat_with_a_bad_access_key_names_the_key_not_a_bare_403(s3_env, bucket, monkeypatch):
    """HeadObject errors have no body (a bare 403); the follow-up listing gets the real reason."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "NOSUCHKEY1234567")
    with pytest.raises(RuntimeFailure, match=r"the access key NOSU\.\.\.4567 was rejected"):
        S3Store().stat(f"s3://{bucket}/results/x.json")


def test_missing_key_under_a_prefix_limited_policy_is_missing_not_denied():
    """AWS answers 403 (not 404) for a missing key when ListBucket is limited to prefixes, as in
    fmkit's own detector policy; SeaweedFS cannot reproduce that, so botocore's Stubber plays AWS."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="AKIAEXAMPLEKEY123456",
                          aws_secret_access_key="stub-secret")
    store = S3Store()
    store._client = client
    with Stubber(client) as stub:
        stub.add_client_error("head_object", service_error_code="403", http_status_code=403)
        stub.add_response("list_objects_v2", {"KeyCount": 0},
                          {"Bucket": "course-b", "Prefix": "results/x.jpg.json", "MaxKeys": 1})
        assert store.stat("s3://course-b/results/x.jpg.json") is None
        stub.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)
        stub.add_response("list_objects_v2", {"KeyCount": 0},
                          {"Bucket": "course-b", "Prefix": "uploads/gone.jpg", "MaxKeys": 1})
        with pytest.raises(RuntimeFailure, match="^s3://course-b/uploads/gone.jpg does not exist$"):
            store.read_bytes("s3://course-b/uploads/gone.jpg")
        # The key is there, so the 403 was a real denial: say which action on which key.
        stub.add_client_error("head_object", service_error_code="403", http_status_code=403)
        stub.add_response("list_objects_v2", {"KeyCount": 1, "Contents": [{"Key": "results/y.json"}]},
                          {"Bucket": "course-b", "Prefix": "results/y.json", "MaxKeys": 1})
        with pytest.raises(RuntimeFailure) as err:
            store.stat("s3://course-b/results/y.json")
        assert err.value.message == "access denied: HeadObject on s3://course-b/results/y.json"
        assert "s3:GetObject" in err.value.hint
        stub.assert_no_pending_responses()
