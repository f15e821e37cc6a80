"""`fmkit bucket init`: create the bucket, its uploads/ and results/ folders, and the CORS rule.

Safe to re-run: each step says "created", "exists", "set" or why it was skipped. A call the
server does not implement (SeaweedFS: Block Public Access) is reported as "unsupported".
"""

from __future__ import annotations

from typing import Any, Iterator

from fmkit.bucket import RESULTS, UPLOADS, layout
from fmkit.bucket.cors import fmkit_rule, merged_rules, normalize_origin
from fmkit.errors import BadInput
from fmkit.io.s3 import DEFAULT_REGION, S3Store, s3_error

_UNSUPPORTED = ("NotImplemented", "501", "MethodNotAllowed", "405")
_BLOCK_ALL = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
              "RestrictPublicBuckets": True}


def _code(e: Exception) -> str:
    return str(getattr(e, "response", {}).get("Error", {}).get("Code", ""))


def _step(step: str, uri: str, status: str, detail: str) -> dict[str, Any]:
    return {"step": step, "uri": uri, "status": status, "detail": detail}


def init_bucket(store: S3Store, uri: str, origin: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield one dict per step; raise an fmkit error when a step fails outright."""
    bucket, base = layout(uri)
    origin = normalize_origin(origin) if origin else None
    root = f"s3://{bucket}"
    yield _create_bucket(store, bucket, root)
    for folder in (UPLOADS, RESULTS):
        yield _marker(store, bucket, base + folder)
    yield _block_public_access(store, bucket, root)
    yield _cors(store, bucket, root, base, origin)


def _create_bucket(store: S3Store, bucket: str, root: str) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    client = store.client
    region = client.meta.region_name or DEFAULT_REGION
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":   # us-east-1 is the one region that must not be named
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        client.create_bucket(**kwargs)
        return _step("bucket", root, "created", f"bucket {bucket} created in {region}")
    except ClientError as e:
        code = _code(e)
        if code == "BucketAlreadyOwnedByYou":
            return _step("bucket", root, "exists", f"bucket {bucket} already exists (yours)")
        if code == "BucketAlreadyExists":
            raise BadInput(f"bucket name '{bucket}' is taken by another account",
                           "S3 bucket names are global: pick another name") from None
        if code in ("AccessDenied", "403"):
            # No s3:CreateBucket (a course IAM user): fine if the bucket is already there.
            try:
                client.head_bucket(Bucket=bucket)
                return _step("bucket", root, "exists", f"bucket {bucket} exists (these credentials cannot create buckets)")
            except (ClientError, BotoCoreError):
                pass
        raise s3_error(e, root, store) from None
    except BotoCoreError as e:
        raise s3_error(e, root, store) from None


def _marker(store: S3Store, bucket: str, prefix: str) -> dict[str, Any]:
    """An empty object named 'uploads/': the folder shows in the console before any upload."""
    from botocore.exceptions import BotoCoreError, ClientError

    uri = f"s3://{bucket}/{prefix}"
    try:
        store.client.put_object(Bucket=bucket, Key=prefix, Body=b"", IfNoneMatch="*")
        return _step("folder", uri, "created", f"folder {prefix} created")
    except ClientError as e:
        if _code(e) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
            return _step("folder", uri, "exists", f"folder {prefix} already exists")
        raise s3_error(e, uri, store) from None
    except BotoCoreError as e:
        raise s3_error(e, uri, store) from None


def _block_public_access(store: S3Store, bucket: str, root: str) -> dict[str, Any]:
    """Reachable only through IAM: turn on all four Block Public Access switches."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        store.client.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=_BLOCK_ALL)
        return _step("public-access", root, "set", "public access blocked: only IAM identities can read or write")
    except ClientError as e:
        if _code(e) in _UNSUPPORTED:
            return _step("public-access", root, "unsupported",
                         "this server does not support Block Public Access (PutPublicAccessBlock)")
        if _code(e) in ("AccessDenied", "403"):
            return _step("public-access", root, "warn", "not allowed to set Block Public Access "
                         "(s3:PutBucketPublicAccessBlock); new AWS buckets have it on by default")
        raise s3_error(e, root, store) from None
    except BotoCoreError as e:
        raise s3_error(e, root, store) from None


def _cors(store: S3Store, bucket: str, root: str, base: str, origin: str | None) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    if origin is None:
        return _step("cors", root, "skip", "no --origin given: a web page cannot read results/ from a browser "
                     "until you re-run with --origin https://YOUR.PAGE")
    client = store.client
    try:
        try:
            existing = client.get_bucket_cors(Bucket=bucket).get("CORSRules", [])
        except ClientError as e:
            if _code(e) != "NoSuchCORSConfiguration":
                raise
            existing = []
        if any(_same(rule, fmkit_rule(origin)) for rule in existing):
            return _step("cors", root, "exists", f"CORS already lets {origin} GET/HEAD {base}{RESULTS}")
        client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": merged_rules(existing, origin)})
        return _step("cors", root, "set", f"CORS lets {origin} GET/HEAD {base}{RESULTS} "
                     "(IAM still decides which keys it may read)")
    except ClientError as e:
        if _code(e) in _UNSUPPORTED:
            return _step("cors", root, "unsupported", "this server does not support CORS configuration")
        raise s3_error(e, root, store) from None
    except BotoCoreError as e:
        raise s3_error(e, root, store) from None


def _same(rule: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """The same grant (the ID is not compared: SeaweedFS does not keep rule IDs)."""
    return (rule.get("AllowedOrigins") == wanted["AllowedOrigins"]
            and sorted(rule.get("AllowedMethods", [])) == sorted(wanted["AllowedMethods"]))
