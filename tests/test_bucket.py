"""`fmkit bucket init|check|policy` against a real S3 server (SeaweedFS on 127.0.0.1)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from typer.testing import CliRunner

from fmkit.commands.bucket import bucket_app
from seaweed import admin_client, bucket_name, new_bucket

ORIGIN = "https://course.example.org"


@pytest.fixture
def bucket_cli():
    runner = CliRunner()

    def run(*args):
        return runner.invoke(bucket_app, [str(a) for a in args], catch_exceptions=False)

    return run


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def assert_no_secret(server, result, caplog=None):
    for text in (result.stdout, result.stderr, caplog.text if caplog else ""):
        assert server.admin_secret not in text and server.reader_secret not in text




def test_help_imports_neither_boto3_nor_torch():
    code = ("import sys; from typer.testing import CliRunner; from fmkit.commands.bucket import bucket_app; "
            "r = CliRunner().invoke(bucket_app, ['--help']); assert r.exit_code == 0, r.output; "
            "assert 'check' in r.output and 'policy' in r.output; "
            "print(sorted(m for m in ('boto3', 'botocore', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_policy_is_least_privilege(bucket_cli):
    result = bucket_cli("policy", "s3://course-bucket", "--json")
    assert result.exit_code == 0
    detector, page = json_lines(result.stdout)
    assert detector["name"] == "detector" and page["name"] == "page"
    grants = {(s["Action"] if isinstance(s["Action"], str) else tuple(s["Action"]), s["Resource"],
               json.dumps(s.get("Condition"), sort_keys=True)) for s in detector["policy"]["Statement"]}
    assert grants == {
        ("s3:ListBucket", "arn:aws:s3:::course-bucket",
         json.dumps({"StringLike": {"s3:prefix": ["uploads/*", "results/*"]}}, sort_keys=True)),
        ("s3:GetObject", "arn:aws:s3:::course-bucket/uploads/*", "null"),
        (("s3:PutObject", "s3:GetObject"), "arn:aws:s3:::course-bucket/results/*", "null"),
    }
    assert all(s["Effect"] == "Allow" for s in detector["policy"]["Statement"])
    assert page["policy"]["Statement"] == [{"Sid": "ReadResults", "Effect": "Allow", "Action": "s3:GetObject",
                                            "Resource": "arn:aws:s3:::course-bucket/results/*"}]
    for item in (detector, page):
        assert item["policy"]["Version"] == "2012-10-17"


def test_policy_text_is_pasteable_json(bucket_cli):
    result = bucket_cli("policy", "s3://course-bucket/team1/")
    assert result.exit_code == 0
    blocks = result.stdout.split("# ")[1:]
    assert [b.split(":")[0] for b in blocks] == ["detector", "page"]
    docs = [json.loads(block.split("\n", 1)[1]) for block in blocks]
    assert docs[1]["Statement"][0]["Resource"] == "arn:aws:s3:::course-bucket/team1/results/*"
    assert docs[0]["Statement"][0]["Condition"]["StringLike"]["s3:prefix"] == ["team1/uploads/*", "team1/results/*"]


def test_invalid_bucket_name_is_a_usage_error(bucket_cli):
    for command in ("policy", "check", "init"):
        result = bucket_cli(command, "s3://Bad_Bucket")
        assert result.exit_code == 2
        assert "invalid bucket name 'Bad_Bucket'" in result.stderr and "3-63 characters" in result.stderr
        assert "Traceback" not in result.output


def test_init_creates_bucket_folders_and_cors(s3_env, bucket_cli):
    name = bucket_name()
    result = bucket_cli("init", f"s3://{name}", "--origin", ORIGIN + "/", "--json")
    assert result.exit_code == 0, result.output
    steps = {(s["step"], s["uri"]): s["status"] for s in json_lines(result.stdout)}
    assert steps == {("bucket", f"s3://{name}"): "created", ("folder", f"s3://{name}/uploads/"): "created",
                     ("folder", f"s3://{name}/results/"): "created",
                     ("public-access", f"s3://{name}"): "unsupported",   # SeaweedFS: NotImplemented
                     ("cors", f"s3://{name}"): "set"}
    client = admin_client(s3_env)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=name)["Contents"]]
    assert keys == ["results/", "uploads/"]
    rules = client.get_bucket_cors(Bucket=name)["CORSRules"]
    assert [(r["AllowedOrigins"], sorted(r["AllowedMethods"])) for r in rules] == [([ORIGIN], ["GET", "HEAD"])]
    # A browser's preflight from the page's origin is answered by the server itself.
    request = urllib.request.Request(f"{s3_env.endpoint}/{name}/results/x.json", method="OPTIONS",
                                     headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN

    again = bucket_cli("init", f"s3://{name}", "--origin", ORIGIN)
    assert again.exit_code == 0
    assert "already exists" in again.stdout and "CORS already lets" in again.stdout
    assert len(client.get_bucket_cors(Bucket=name)["CORSRules"]) == 1   # re-running adds nothing
    assert_no_secret(s3_env, result)


def test_init_without_origin_says_so(s3_env, bucket_cli):
    result = bucket_cli("init", f"s3://{bucket_name()}/team1")
    assert result.exit_code == 0
    assert "folder team1/uploads/ created" in result.stdout
    assert "no --origin given" in result.stdout
    assert "does not support Block Public Access" in result.stdout


def test_init_rejects_a_bad_origin(s3_env, bucket_cli):
    result = bucket_cli("init", f"s3://{bucket_name()}", "--origin", "course.example.org/page")
    assert result.exit_code == 2 and "invalid origin" in result.stderr


def test_check_passes_for_the_admin(s3_env, bucket_cli):
    name = bucket_name()
    assert bucket_cli("init", f"s3://{name}", "--origin", ORIGIN).exit_code == 0
    admin_client(s3_env).put_object(Bucket=name, Key="uploads/고양이 사진.jpg", Body=b"\xff\xd8jpeg")
    result = bucket_cli("check", f"s3://{name}", "--origin", ORIGIN, "--json")
    assert result.exit_code == 0, result.output
    rows = json_lines(result.stdout)
    assert [(r["check"], r["status"]) for r in rows] == [
        ("credentials", "pass"), ("list uploads/", "pass"), ("list results/", "pass"), ("read uploads/", "pass"),
        ("write results/", "pass"), ("read results/", "pass"), ("delete probe", "pass"), ("cors", "pass")]
    assert rows[0]["detail"].startswith("environment variables (AWS_ACCESS_KEY_ID=fm...in)")
    assert "고양이 사진.jpg" in rows[1]["detail"]
    # The probe is gone again: results/ holds only its folder marker.
    assert [o["Key"] for o in admin_client(s3_env).list_objects_v2(Bucket=name, Prefix="results/")["Contents"]] == [
        "results/"]
    people = bucket_cli("check", f"s3://{name}")
    assert people.exit_code == 0
    assert "✓ credentials: environment variables" in people.stdout
    assert "cors: no --origin given" in people.stdout
    assert_no_secret(s3_env, result)
    assert_no_secret(s3_env, people)


def test_check_fails_the_write_for_the_read_only_identity(s3_env, bucket_cli, monkeypatch, debug_logs):
    name = new_bucket(s3_env)
    admin_client(s3_env).put_object(Bucket=name, Key="uploads/a.jpg", Body=b"a")
    for var, value in s3_env.env(reader=True).items():
        monkeypatch.setenv(var, value)
    result = bucket_cli("check", f"s3://{name}", "--json")
    assert result.exit_code == 1
    status = {r["check"]: r for r in json_lines(result.stdout)}
    assert status["list uploads/"]["status"] == "pass" and status["read uploads/"]["status"] == "pass"
    write = status["write results/"]
    assert write["status"] == "fail"
    assert write["detail"] == f"access denied: PutObject on s3://{name}/results/.fmkit-check"
    assert "s3:PutObject" in write["fix"]
    people = bucket_cli("check", f"s3://{name}")
    assert people.exit_code == 1
    assert "✗ write results/: access denied: PutObject" in people.stdout and "1 check(s) failed" in people.stderr
    assert "Authorization" in debug_logs.text   # DEBUG logging did run (signed headers: no secret in them)
    assert_no_secret(s3_env, result, debug_logs)
    assert_no_secret(s3_env, people, debug_logs)


def test_check_missing_bucket_stops_with_the_fix(s3_env, bucket_cli):
    name = bucket_name()
    result = bucket_cli("check", f"s3://{name}", "--json")
    assert result.exit_code == 1
    rows = json_lines(result.stdout)
    assert [r["status"] for r in rows] == ["pass", "fail"]
    assert rows[-1]["detail"] == f"bucket '{name}' does not exist"
    assert rows[-1]["fix"] == f"create it with: fmkit bucket init s3://{name}"


def test_check_without_credentials_says_where_it_looked(s3_server, bucket_cli, monkeypatch, tmp_path):
    from seaweed import clean_aws_env

    clean_aws_env(monkeypatch, tmp_path / "empty-home")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    result = bucket_cli("check", "s3://some-bucket")
    assert result.exit_code == 1
    assert "✗ credentials: no AWS credentials found" in result.stdout
    assert "AWS_ACCESS_KEY_ID" in result.stdout and "--aws-profile" in result.stdout


def test_check_names_the_profile(s3_server, bucket_cli, monkeypatch, tmp_path, debug_logs):
    from seaweed import clean_aws_env

    home = tmp_path / "home"
    clean_aws_env(monkeypatch, home)
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(
        f"[course]\naws_access_key_id = {s3_server.admin_key}\naws_secret_access_key = {s3_server.admin_secret}\n")
    name = new_bucket(s3_server)
    result = bucket_cli("check", f"s3://{name}", "--aws-profile", "course", "--endpoint-url", s3_server.endpoint,
                        "--json")
    assert result.exit_code == 0, result.output
    creds = json_lines(result.stdout)[0]
    assert creds["detail"].startswith(f"shared credentials file {home}/.aws/credentials, profile course")
    assert_no_secret(s3_server, result, debug_logs)


def test_check_reports_a_missing_cors_rule(s3_env, bucket_cli):
    name = new_bucket(s3_env)
    result = bucket_cli("check", f"s3://{name}", "--origin", ORIGIN, "--json")
    assert result.exit_code == 1
    cors = json_lines(result.stdout)[-1]
    assert cors["check"] == "cors" and cors["status"] == "fail"
    assert cors["fix"].startswith(f"fmkit bucket init s3://{name} --origin {ORIGIN}")


def test_unreachable_endpoint_is_one_line(s3_env, bucket_cli):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = bucket_cli("init", "s3://some-bucket", "--endpoint-url", f"http://127.0.0.1:{port}")
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"error: cannot reach http://127.0.0.1:{port} (check the endpoint URL: "
                                     "--endpoint-url, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL; and the network)")


def test_presigned_results_are_readable_cross_origin(s3_env, bucket_cli):
    """What the page does: GET results/NAME.json with its Origin; the server adds the CORS header."""
    from fmkit.io.s3 import S3Store

    name = bucket_name()
    assert bucket_cli("init", f"s3://{name}", "--origin", ORIGIN).exit_code == 0
    store = S3Store()
    store.write_bytes(f"s3://{name}/results/bus.jpg.json", b'{"detections": []}')
    url = store.presign(f"s3://{name}/results/bus.jpg.json", 60)
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Origin": ORIGIN}), timeout=5) as response:
        assert response.read() == b'{"detections": []}'
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    with pytest.raises(urllib.error.HTTPError):   # unsigned: the bucket is reachable only through IAM
        urllib.request.urlopen(f"{s3_env.endpoint}/{name}/results/bus.jpg.json", timeout=5)


def test_policy_only_prints_one_json_document(bucket_cli):
    result = bucket_cli("policy", "s3://course-bucket", "--only", "page")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["Statement"][0]["Resource"] == "arn:aws:s3:::course-bucket/results/*"
    bad = bucket_cli("policy", "s3://course-bucket", "--only", "admin")
    assert bad.exit_code == 2 and "choose detector or page" in bad.stderr
