"""Least-privilege IAM policies for the pipeline, ready to paste into the IAM console.

The detector lists uploads/ and results/, reads uploads/, writes results/ and reads results/
back (a re-run skips images whose results exist). The web page only reads results/.
Nothing else: no DeleteObject, no bucket-level rights beyond a prefix-limited ListBucket.
"""

from __future__ import annotations

from typing import Any

from fmkit.errors import BadInput
from fmkit.bucket import RESULTS, UPLOADS, layout

VERSION = "2012-10-17"


def detector_policy(bucket: str, base: str = "") -> dict[str, Any]:
    arn = f"arn:aws:s3:::{bucket}"
    return {"Version": VERSION, "Statement": [
        {"Sid": "ListUploadsAndResults", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": arn,
         "Condition": {"StringLike": {"s3:prefix": [f"{base}{UPLOADS}*", f"{base}{RESULTS}*"]}}},
        {"Sid": "ReadUploads", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{arn}/{base}{UPLOADS}*"},
        {"Sid": "WriteAndReadResults", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
         "Resource": f"{arn}/{base}{RESULTS}*"},
    ]}


def page_policy(bucket: str, base: str = "") -> dict[str, Any]:
    return {"Version": VERSION, "Statement": [
        {"Sid": "ReadResults", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/{base}{RESULTS}*"},
    ]}


def policies(uri: str, only: str | None = None) -> list[dict[str, Any]]:
    """Both policies for the bucket (and base prefix) in `uri`, with what each is for; or just
    the one named `only` (detector | page)."""
    bucket, base = layout(uri)
    items = [
        {"name": "detector", "for": "the IAM user (or instance role) that runs fmkit detect",
         "policy": detector_policy(bucket, base)},
        {"name": "page", "for": "the web page's read-only IAM user", "policy": page_policy(bucket, base)},
    ]
    if only is None:
        return items
    chosen = [item for item in items if item["name"] == only]
    if not chosen:
        raise BadInput(f"no policy named '{only}'", "choose detector or page")
    return chosen
