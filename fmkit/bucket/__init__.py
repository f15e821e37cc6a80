"""`fmkit bucket`: set up and check the S3 bucket of the course's detection pipeline.

The layout (one place): images arrive under `uploads/`, the detector writes under `results/`,
the web page reads `results/`. A URI may name a sub-folder (`s3://b/team1/`) to hold the same
layout under it. Every function here takes an S3Store and returns plain dicts, which the
command prints as lines for people or as JSON.
"""

from __future__ import annotations

UPLOADS = "uploads/"
RESULTS = "results/"


def layout(uri: str) -> tuple[str, str]:
    """'s3://b' -> ('b', ''); 's3://b/team1' -> ('b', 'team1/'): the bucket and the base prefix."""
    from fmkit.io.s3 import parse

    bucket, key = parse(uri)
    return bucket, key.strip("/") + "/" if key.strip("/") else ""
