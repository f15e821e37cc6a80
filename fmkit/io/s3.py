"""S3 (and S3-compatible servers) behind the storage interface of fmkit/io/store.py.

boto3 does the real work: the credential chain, SigV4 signing, retries, pagination and
multipart uploads. This module adds what fmkit promises on top: `s3://bucket/key` URIs,
listings that stream, writes that never clobber without --force, and one-line errors that
never contain the secret key. boto3 is imported inside methods (importing this module costs
nothing), and the client is built on first use, so a store pickles as its few settings.
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
import mimetypes
import os
import posixpath
import re
from typing import Any, BinaryIO, Iterator

from fmkit.errors import AccessDenied, BadInput, CredentialsError, FmkitError, OutputError, RuntimeFailure
from fmkit.io.store import Entry, is_hidden
from fmkit.options import option

SCHEME = "s3://"
DEFAULT_REGION = "us-east-1"
MAX_READ_BYTES = 256 * 1024 * 1024   # open()/read_bytes() hold the object in memory: refuse bigger ones
SINGLE_PUT_BYTES = 8 * 1024 * 1024   # up to this, one PutObject (atomic, conditional); above, managed multipart
PAGE_SIZE = 1000                     # keys per ListObjectsV2 page (S3's own maximum)
CONNECT_TIMEOUT_S = 3
READ_TIMEOUT_S = 20
# Tries in all (botocore's "max_attempts" would count retries only, making 3 tries and ~10 s):
# 2 x the 3 s connect timeout + backoff, so an unreachable endpoint fails in about 7 s.
MAX_ATTEMPTS = 2

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_BUCKET_RULE = ("bucket names are 3-63 characters: lowercase letters, digits, dots and hyphens, "
                "starting and ending with a letter or digit")
_WILDCARDS = "*?["

# API operation -> the IAM action a policy must allow for it (for AccessDenied messages).
_IAM_ACTION = {"ListObjectsV2": "s3:ListBucket", "HeadObject": "s3:GetObject", "GetObject": "s3:GetObject",
               "PutObject": "s3:PutObject", "CreateMultipartUpload": "s3:PutObject",
               "UploadPart": "s3:PutObject", "CompleteMultipartUpload": "s3:PutObject",
               "DeleteObject": "s3:DeleteObject", "CreateBucket": "s3:CreateBucket",
               "HeadBucket": "s3:ListBucket", "GetBucketCors": "s3:GetBucketCORS",
               "PutBucketCors": "s3:PutBucketCORS", "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock"}


def is_s3(uri: str) -> bool:
    return str(uri).startswith(SCHEME)


def parse(uri: str) -> tuple[str, str]:
    """'s3://bucket/some/key' -> ('bucket', 'some/key'); the bucket name is validated."""
    if not is_s3(uri):
        raise BadInput(f"not an S3 URI: {uri}", "write s3://BUCKET/KEY")
    bucket, _, key = uri[len(SCHEME):].partition("/")
    if not bucket:
        raise BadInput(f"no bucket name in {uri}", "write s3://BUCKET/KEY")
    if not _BUCKET_RE.match(bucket) or ".." in bucket or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", bucket):
        raise BadInput(f"invalid bucket name '{bucket}'", _BUCKET_RULE)
    return bucket, key


def _folder_prefix(key: str) -> str:
    """A root is always a folder: 'uploads' and 'uploads/' both list 'uploads/...'; '' the bucket."""
    return key.rstrip("/") + "/" if key.strip("/") else ""


def _version(etag: str, size: int) -> str:
    return f"{etag.strip(chr(34))}:{size}"


def mask(access_key: str | None) -> str:
    """An access key id as people may see it: 'AKIA...XYZ4'. (The secret is never shown at all.)"""
    if not access_key:
        return "(none)"
    keep = 4 if len(access_key) >= 12 else 2
    return f"{access_key[:keep]}...{access_key[-keep:]}"


class S3Store:
    """`s3://bucket/key` locations. Settings are plain values, so the store pickles and a worker
    rebuilds its own client; None means "whatever the standard AWS chain says"."""

    scheme = "s3"

    def __init__(self, endpoint_url: str | None = None, profile: str | None = None, region: str | None = None,
                 page_size: int = PAGE_SIZE, max_read_bytes: int = MAX_READ_BYTES):
        if endpoint_url and not re.match(r"^https?://[^/\s]+", endpoint_url):
            raise BadInput(f"invalid endpoint URL '{endpoint_url}'", "give http://HOST:PORT or https://HOST")
        self.endpoint_url = endpoint_url or None
        self.profile = profile or None
        self.region = region or None
        self.page_size = page_size
        self.max_read_bytes = max_read_bytes
        self._session = None
        self._client = None

    # --- pickling: settings only; the session and client are rebuilt where the store lands ---
    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_session", "_client")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _session=None, _client=None)

    # --- the client, built in exactly one place ---
    @property
    def session(self):
        """The boto3 session: credentials, profile and region from the standard AWS chain."""
        if self._session is None:
            import boto3
            from botocore.exceptions import ProfileNotFound

            try:
                self._session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
            except ProfileNotFound:
                raise BadInput(f"AWS profile '{self.profile or os.environ.get('AWS_PROFILE')}' not found",
                               "profiles are read from ~/.aws/credentials and ~/.aws/config; "
                               "check --aws-profile / AWS_PROFILE") from None
        return self._session

    @property
    def client(self):
        if self._client is None:
            with self._errors("s3://"):
                self._client = self._make_client()
        return self._client

    def _make_client(self):
        from botocore.config import Config

        endpoint = (self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3")
                    or os.environ.get("AWS_ENDPOINT_URL") or None)
        region = self.session.region_name or DEFAULT_REGION

        def build(path_style: bool):
            config = Config(connect_timeout=CONNECT_TIMEOUT_S, read_timeout=READ_TIMEOUT_S,
                            retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},
                            signature_version="s3v4",
                            s3={"addressing_style": "path"} if path_style else None)
            return self.session.client("s3", endpoint_url=endpoint, region_name=region, config=config)

        client = build(path_style=bool(endpoint) and not _is_aws(endpoint))
        if not endpoint and not _is_aws(client.meta.endpoint_url):
            client = build(path_style=True)  # an endpoint_url from ~/.aws/config: an S3-compatible server
        return client

    @property
    def endpoint(self) -> str:
        """Where requests go, for messages ('http://127.0.0.1:8333', 'https://s3.amazonaws.com')."""
        if self._client is not None:
            return self._client.meta.endpoint_url
        return (self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
                or f"https://s3.{self.region or DEFAULT_REGION}.amazonaws.com")

    @contextlib.contextmanager
    def _errors(self, uri: str):
        """Every botocore exception leaves as one fmkit error (see s3_error)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except (BotoCoreError, ClientError) as e:
            raise s3_error(e, uri, self) from None

    complete_when_listed = True  # a PUT is atomic: a listed object is whole
    reads_are_round_trips = True
    can_presign = True

    # --- names ---
    def join(self, root: str, name: str) -> str:
        return root.rstrip("/") + "/" + name.lstrip("/") if name else root

    def parse(self, uri: str) -> tuple[str, str]:
        return parse(uri)

    def normalize(self, uri: str, folder: bool = False) -> str:
        """A prefix is a folder: s3://b/results and .../results/ alike (the bucket name is checked)."""
        parse(str(uri))
        return str(uri).rstrip("/") + "/" if folder else str(uri)

    def link(self, from_folder: str, to: str) -> str:
        return posixpath.relpath("/" + parse(to)[1], "/" + parse(from_folder)[1])

    def place(self, uri: str) -> str:
        return f"{SCHEME}{parse(uri)[0]}"

    def contains(self, root: str, uri: str) -> bool:
        return is_s3(uri) and (uri.rstrip("/") + "/").startswith(root.rstrip("/") + "/")

    def relative(self, root: str, uri: str) -> str | None:
        prefix = root.rstrip("/") + "/"
        if not (is_s3(uri) and uri.startswith(prefix)):
            return None
        name = posixpath.normpath(uri[len(prefix):])
        return None if name in (".", "..") or name.startswith("../") else name

    def is_relative(self, uri: str) -> bool:
        return False  # a bucket key means the same object on every machine

    def folder_missing(self, uri: str) -> bool:
        return False  # a prefix needs no creating (the bucket itself is checked by prepare_folder)

    def check_folder(self, uri: str, what: str, hint: str) -> None:
        self.prepare_folder(uri)  # the bucket is there and this prefix may be listed: one small request

    def check_folder_writable(self, uri: str) -> None:
        self.prepare_folder(uri)

    # --- listing ---
    def list(self, root: str, recursive: bool = True, exclude: str | None = None) -> Iterator[Entry]:
        """Objects under the folder `root`, page by page (one page of keys in memory at a time).
        Folder markers ('results/') and hidden names are skipped; `exclude` (an output folder
        inside the listed one) is left out."""
        bucket, key = parse(root)
        prefix = _folder_prefix(key)
        skip = _folder_prefix(parse(exclude)[1]) if exclude and is_s3(exclude) and parse(exclude)[0] == bucket else None
        for obj in self._objects(bucket, prefix, delimiter=None if recursive else "/"):
            name = obj["Key"][len(prefix):]
            if skip and obj["Key"].startswith(skip):
                continue
            if name and not name.endswith("/") and not is_hidden(name):
                yield self._entry(bucket, obj["Key"], name, obj)

    def glob(self, pattern_uri: str) -> Iterator[Entry]:
        """`s3://b/uploads/*.jpg`: keys matching the pattern ('*' stays within one folder level,
        '**' crosses them). Only the literal prefix before the first wildcard is listed."""
        bucket, pattern = parse(pattern_uri)
        first = min((i for i, c in enumerate(pattern) if c in _WILDCARDS), default=None)
        if first is None:
            entry = self.stat(pattern_uri)
            if entry is not None:
                yield entry
            return
        base = pattern[:pattern.rfind("/", 0, first) + 1]   # the folder the names are relative to
        one_level = "/" not in pattern[first:] and "**" not in pattern
        parts = pattern.split("/")
        for obj in self._objects(bucket, pattern[:first], delimiter="/" if one_level else None):
            key = obj["Key"]
            name = key[len(base):]
            if not name or key.endswith("/") or is_hidden(name):
                continue
            if "**" in pattern:
                matched = fnmatch.fnmatchcase(key, pattern)
            else:
                kparts = key.split("/")
                matched = len(kparts) == len(parts) and all(map(fnmatch.fnmatchcase, kparts, parts))
            if matched:
                yield self._entry(bucket, key, name, obj)

    def _objects(self, bucket: str, prefix: str, delimiter: str | None) -> Iterator[dict]:
        """ListObjectsV2 through boto3's paginator: pages are fetched as the caller iterates."""
        uri = f"{SCHEME}{bucket}/{prefix}"
        with self._errors(uri):
            paginator = self.client.get_paginator("list_objects_v2")
            kwargs = {"Bucket": bucket, "Prefix": prefix, "PaginationConfig": {"PageSize": self.page_size}}
            if delimiter:
                kwargs["Delimiter"] = delimiter
            for page in paginator.paginate(**kwargs):
                yield from page.get("Contents", ())

    def _entry(self, bucket: str, key: str, name: str, obj: dict) -> Entry:
        size = int(obj.get("Size", obj.get("ContentLength", 0)))
        return Entry(f"{SCHEME}{bucket}/{key}", name, size, _version(obj.get("ETag", ""), size),
                     obj["LastModified"].timestamp())

    # --- single objects ---
    def stat(self, uri: str) -> Entry | None:
        """HeadObject; None when there is no such object."""
        bucket, key = parse(uri)
        if not key or key.endswith("/"):
            return None
        from botocore.exceptions import ClientError

        with self._errors(uri):
            try:
                head = self.client.head_object(Bucket=bucket, Key=key)
            except ClientError as e:
                if _code(e) in ("404", "NoSuchKey", "NotFound") or (_denied(e) and self._missing(bucket, key, e)):
                    return None
                raise
        return self._entry(bucket, key, key.rsplit("/", 1)[-1], head)

    def _missing(self, bucket: str, key: str, denied: Exception) -> bool:
        """After a 403 on an object: is it simply not there? AWS answers 403, not 404, for a
        missing key unless the caller may ListBucket without conditions, and fmkit's policy limits
        ListBucket to uploads/ and results/. A listing of exactly this key tells the two apart
        (and turns a bare 403 for a bad access key into the server's real error)."""
        from botocore.exceptions import ClientError

        try:
            page = self.client.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        except ClientError as e:
            if _denied(e):
                raise denied from None  # cannot tell: report the original AccessDenied
            raise
        return not any(obj["Key"] == key for obj in page.get("Contents", ()))

    def exists(self, uri: str) -> bool:
        return self.stat(uri) is not None

    def is_folder(self, uri: str) -> bool:
        """True when some key lies under `uri/` (S3 has no folders, only shared prefixes)."""
        bucket, key = parse(uri)
        with self._errors(uri):
            page = self.client.list_objects_v2(Bucket=bucket, Prefix=_folder_prefix(key), MaxKeys=1)
        return page.get("KeyCount", 0) > 0 or not key.strip("/")

    def open(self, uri: str) -> BinaryIO:
        """The whole object in memory as a seekable file (images are small; huge ones are refused)."""
        return io.BytesIO(self.read_bytes(uri))

    def read_bytes(self, uri: str, max_bytes: int | None = None) -> bytes:
        bucket, key = parse(uri)
        limit = self.max_read_bytes if max_bytes is None else max_bytes
        from botocore.exceptions import ClientError

        with self._errors(uri):
            try:
                response = self.client.get_object(Bucket=bucket, Key=key)
            except ClientError as e:
                if _denied(e) and self._missing(bucket, key, e):
                    raise RuntimeFailure(f"{uri} does not exist") from None
                raise
            size = response.get("ContentLength", 0)
            if size > limit:
                response["Body"].close()
                raise RuntimeFailure(f"{uri} is {size / 2**20:.0f} MiB, more than fmkit reads at once "
                                     f"({limit / 2**20:.0f} MiB)", "shrink the file")
            return response["Body"].read()

    def read_head(self, uri: str, length: int = 1024) -> bytes:
        """The first `length` bytes (a ranged GetObject: checks read access without the whole file)."""
        bucket, key = parse(uri)
        with self._errors(uri):
            response = self.client.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{max(length, 1) - 1}")
            return response["Body"].read()

    def write_bytes(self, uri: str, data: bytes | str, force: bool = False, content_type: str | None = None) -> None:
        """One object, all or nothing: readers see the old object or the new one, never half.

        Without `force`, an existing key is refused. Up to 8 MiB that is a conditional PutObject
        (If-None-Match: *, which SeaweedFS and AWS both honour: checked by the server, no race);
        bigger bodies go through boto3's managed multipart upload, which cannot be conditional,
        so HeadObject checks first (a writer racing us in between would win)."""
        bucket, key = parse(uri)
        if not key or key.endswith("/"):
            raise OutputError(f"{uri} is a folder, not an object name", "give a key such as s3://BUCKET/results/x.json")
        body = data.encode() if isinstance(data, str) else bytes(data)
        content_type = content_type or mimetypes.guess_type(key)[0] or "application/octet-stream"
        from botocore.exceptions import ClientError

        with self._errors(uri):
            if len(body) <= SINGLE_PUT_BYTES:
                extra = {} if force else {"IfNoneMatch": "*"}
                try:
                    self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, **extra)
                except ClientError as e:
                    if not force and _code(e) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                        raise _exists_error(uri) from None
                    raise
                return
        if not force and self.exists(uri):
            raise _exists_error(uri)
        from boto3.s3.transfer import TransferConfig

        with self._errors(uri):
            self.client.upload_fileobj(io.BytesIO(body), bucket, key, ExtraArgs={"ContentType": content_type},
                                       Config=TransferConfig(multipart_threshold=SINGLE_PUT_BYTES))

    def delete(self, uri: str) -> None:
        bucket, key = parse(uri)
        with self._errors(uri):
            self.client.delete_object(Bucket=bucket, Key=key)

    def prepare_folder(self, root: str) -> None:
        """Fail in seconds, before any model loads: the bucket exists and these credentials can
        list this folder (a ListObjectsV2 of one key: allowed by fmkit's least-privilege policy,
        where HeadBucket would not be)."""
        bucket, key = parse(root)
        with self._errors(root):
            self.client.list_objects_v2(Bucket=bucket, Prefix=_folder_prefix(key), MaxKeys=1)

    def presign(self, uri: str, seconds: int = 3600) -> str:
        """A time-limited GET URL for one object (SigV4 allows at most 7 days)."""
        bucket, key = parse(uri)
        if not 1 <= seconds <= 7 * 24 * 3600:
            raise BadInput(f"presigned URLs last 1 s to 7 days, not {seconds} s", "give a number of seconds up to 604800")
        with self._errors(uri):
            if self.session.get_credentials() is None:
                from botocore.exceptions import NoCredentialsError

                raise NoCredentialsError()
            return self.client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                                      ExpiresIn=seconds)


def _is_aws(endpoint: str | None) -> bool:
    host = re.sub(r"^https?://", "", endpoint or "").split("/")[0].split(":")[0]
    return host.endswith(".amazonaws.com") or host.endswith(".amazonaws.com.cn")


def _code(e: Exception) -> str:
    return str(getattr(e, "response", {}).get("Error", {}).get("Code", ""))


def _denied(e: Exception) -> bool:
    return _code(e) in ("AccessDenied", "403", "Forbidden")


def _exists_error(uri: str) -> OutputError:
    return OutputError(f"{uri} already exists", f"pass {option('force')} to overwrite it")


def s3_error(e: Exception, uri: str, store: S3Store | None = None) -> FmkitError:
    """The one mapping from botocore exceptions to fmkit's one-line errors.

    Messages are built from fmkit's own words, the error code, the URI and the endpoint only:
    never from str(e), request headers or credentials, so no secret can leak through them."""
    from botocore import exceptions as bx

    endpoint = store.endpoint if store is not None and not isinstance(
        e, (bx.NoCredentialsError, bx.PartialCredentialsError)) else "the S3 endpoint"
    bucket = uri[len(SCHEME):].split("/", 1)[0] if is_s3(uri) else ""
    profile = (store.profile if store else None) or os.environ.get("AWS_PROFILE") or "default"
    if isinstance(e, bx.NoCredentialsError):
        return CredentialsError(
            "no AWS credentials found",
            f"looked in: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, {_credentials_file()} (profile {profile}), "
            f"{_config_file()}, container/instance metadata; set the two variables, or pass --aws-profile")
    if isinstance(e, bx.PartialCredentialsError):
        return CredentialsError(f"incomplete AWS credentials in {e.kwargs.get('provider', '?')}: "
                              f"{e.kwargs.get('cred_var', '?')} is missing", "set both the access key and the secret key")
    if isinstance(e, bx.ProfileNotFound):
        return BadInput(f"AWS profile '{e.kwargs.get('profile', profile)}' not found",
                        "check --aws-profile / AWS_PROFILE against ~/.aws/credentials and ~/.aws/config")
    if isinstance(e, (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ConnectionClosedError)):
        return RuntimeFailure(f"cannot reach {endpoint}", "check the endpoint URL: --endpoint-url, "
                              "AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL; and the network")
    if isinstance(e, bx.ReadTimeoutError):
        return RuntimeFailure(f"{endpoint} did not answer within {READ_TIMEOUT_S} s", "try again later")
    if isinstance(e, bx.ClientError):
        code = _code(e)
        op = getattr(e, "operation_name", "") or "request"
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        key_id = None
        if store is not None and store._session is not None:
            with contextlib.suppress(Exception):
                key_id = store.session.get_credentials().access_key
        if code == "SignatureDoesNotMatch":
            return CredentialsError(f"the secret key was rejected by {endpoint} (SignatureDoesNotMatch)",
                                  f"check the secret key that belongs to access key {mask(key_id)}")
        if code in ("InvalidAccessKeyId", "InvalidClientTokenId"):
            return CredentialsError(f"the access key {mask(key_id)} was rejected by {endpoint} ({code})",
                                  "check AWS_ACCESS_KEY_ID or the profile's aws_access_key_id")
        if code in ("ExpiredToken", "InvalidToken", "TokenRefreshRequired"):
            return CredentialsError(f"the session token was rejected by {endpoint} ({code})", "refresh the credentials")
        if code == "NoSuchBucket":
            return RuntimeFailure(f"bucket '{bucket}' does not exist", f"create it with: fmkit bucket init s3://{bucket}")
        if code in ("AccessDenied", "403", "Forbidden", "AllAccessDisabled"):
            action = _IAM_ACTION.get(op, f"s3:{op}")
            return AccessDenied(f"access denied: {op} on {uri}",
                                  f"these credentials' policy does not allow {action} here; "
                                  f"`fmkit bucket policy s3://{bucket}` prints one that does")
        if code in ("NoSuchKey", "404", "NotFound"):
            return RuntimeFailure(f"{uri} does not exist")
        if code in ("PreconditionFailed", "412"):
            return _exists_error(uri)
        if code in ("NotImplemented", "501"):
            return RuntimeFailure(f"{endpoint} does not support {op}")
        return RuntimeFailure(f"{op} on {uri} failed: {code or 'error'} (HTTP {status})")
    # Any other botocore error: its class name only (its text may quote configuration).
    return RuntimeFailure(f"S3 request for {uri} failed: {type(e).__name__}")


def _credentials_file() -> str:
    return os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"


def _config_file() -> str:
    return os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
