"""`fmkit bucket check`: can these credentials do what the detector and the page need?

One result per check, pass or fail with the fix, in the order the pipeline needs them:
where the credentials came from, list uploads/ and results/, read an upload, write a probe
into results/ and read it back (re-runs read results to skip done work), delete the probe
(not needed by the detector, so only a warning), and the page origin's CORS rule.
A failure that makes every later check meaningless (no credentials, wrong secret, no bucket,
unreachable endpoint) ends the list.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from fmkit.bucket import RESULTS, UPLOADS, layout
from fmkit.bucket.cors import allows, normalize_origin
from fmkit.errors import AccessDenied, FmkitError
from fmkit.io.s3 import S3Store, s3_error

PROBE = ".fmkit-check"   # hidden name: listings (and so detect --watch) skip it
_UNSUPPORTED = ("NotImplemented", "501", "MethodNotAllowed", "405")


class _Stop(Exception):
    """A failed check after which the rest cannot say anything useful."""


def _result(check: str, status: str, detail: str, fix: str | None = None) -> dict[str, Any]:
    return {"check": check, "status": status, "detail": detail, "fix": fix}


def check_bucket(store: S3Store, uri: str, origin: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield one dict per check: {"check", "status": pass|fail|warn|skip, "detail", "fix"}."""
    from fmkit.bucket.credentials import describe

    bucket, base = layout(uri)
    origin = normalize_origin(origin) if origin else None
    try:
        info = describe(store)
    except FmkitError as e:
        yield _result("credentials", "fail", e.message, e.hint)
        return
    yield _result("credentials", "pass", info["description"] + f"; region {info['region']}, endpoint {info['endpoint']}")
    checks = _Checks(store, f"s3://{bucket}/{base}{UPLOADS}", f"s3://{bucket}/{base}{RESULTS}")
    try:
        yield checks.attempt(f"list {UPLOADS}", checks.list_uploads)
        yield checks.attempt(f"list {RESULTS}", checks.list_results)
        if checks.first_upload:
            yield checks.attempt(f"read {UPLOADS}", checks.read_upload)
        else:
            yield _result(f"read {UPLOADS}", "skip", f"no uploads yet to read in {checks.uploads}",
                          "upload an image there and re-run the check")
        wrote = checks.attempt(f"write {RESULTS}", checks.write_probe)
        yield wrote
        if wrote["status"] == "pass":
            yield checks.attempt(f"read {RESULTS}", checks.read_probe)
            yield _delete_probe(store, checks.probe)
    except _Stop as stop:
        yield stop.args[0]
        return
    yield _check_cors(store, bucket, uri, origin)


class _Checks:
    """The pipeline's actions, each a check: a denied action is a failed check and the rest go on;
    any other failure (no bucket, a wrong secret) ends the checks (_Stop)."""

    def __init__(self, store: S3Store, uploads: str, results: str):
        self.store, self.uploads, self.results = store, uploads, results
        self.probe = results + PROBE
        self.first_upload = None

    @staticmethod
    def attempt(check: str, action: Callable[[], str], stop_on_other: bool = True) -> dict[str, Any]:
        try:
            return _result(check, "pass", action())
        except FmkitError as e:
            if stop_on_other and not isinstance(e, AccessDenied):
                raise _Stop(_result(check, "fail", e.message, e.hint)) from None
            return _result(check, "fail", e.message, e.hint)

    def list_uploads(self) -> str:
        self.first_upload = next(iter(self.store.list(self.uploads)), None)
        entry = self.first_upload
        return f"listed {self.uploads}" + (f" (first: {entry.name})" if entry else " (empty)")

    def list_results(self) -> str:
        entry = next(iter(self.store.list(self.results)), None)
        return f"listed {self.results}" + (f" (first: {entry.name})" if entry else " (empty)")

    def read_upload(self) -> str:
        self.store.read_head(self.first_upload.uri)
        return f"read {self.first_upload.uri}"

    def write_probe(self) -> str:
        self.store.write_bytes(self.probe, b"fmkit bucket check probe\n", force=True, content_type="text/plain")
        return f"wrote {self.probe}"

    def read_probe(self) -> str:
        self.store.read_head(self.probe)
        return f"read back {self.probe}"


def _delete_probe(store: S3Store, probe: str) -> dict[str, Any]:
    try:
        store.delete(probe)
        return _result("delete probe", "pass", f"deleted {probe}")
    except FmkitError as e:
        if isinstance(e, AccessDenied):
            return _result("delete probe", "warn", f"{probe} left in place: these credentials may not delete "
                           "(fine: the detector never deletes; the hidden name keeps it out of listings)")
        return _result("delete probe", "fail", e.message, e.hint)


def _check_cors(store: S3Store, bucket: str, uri: str, origin: str | None) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    if origin is None:
        return _result("cors", "skip", "no --origin given: the web page's CORS rule was not checked",
                       "pass --origin https://YOUR.PAGE")
    fix = f"fmkit bucket init s3://{bucket} --origin {origin} (with credentials that may set CORS)"
    try:
        rules = store.client.get_bucket_cors(Bucket=bucket).get("CORSRules", [])
    except ClientError as e:
        code = str(e.response.get("Error", {}).get("Code", ""))
        if code == "NoSuchCORSConfiguration":
            return _result("cors", "fail", f"no CORS rule: a page at {origin} cannot read {RESULTS}", fix)
        if code in _UNSUPPORTED:
            return _result("cors", "warn", "this server does not support CORS configuration")
        if code in ("AccessDenied", "403"):
            return _result("cors", "warn", "these credentials may not read the CORS rules (s3:GetBucketCORS; "
                           "the detector does not need it)", "re-run the check for CORS with admin credentials")
        err = s3_error(e, f"s3://{bucket}", store)
        return _result("cors", "fail", err.message, err.hint)
    except BotoCoreError as e:
        err = s3_error(e, f"s3://{bucket}", store)
        return _result("cors", "fail", err.message, err.hint)
    if allows(rules, origin):
        return _result("cors", "pass", f"CORS lets {origin} GET objects")
    return _result("cors", "fail", f"no CORS rule lets {origin} GET objects", fix)
