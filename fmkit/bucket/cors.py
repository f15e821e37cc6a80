"""The CORS rule that lets the web page's origin read results/ from a browser.

S3 CORS rules are per bucket, not per prefix: the rule says which origin may make GET/HEAD
requests at all; which keys it can read is still decided by IAM (the page policy: results/ only).
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from fmkit.errors import BadInput

RULE_ID = "fmkit-results"
_ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


def normalize_origin(origin: str) -> str:
    """'https://course.example.org/' -> 'https://course.example.org' (scheme, host, port; no path)."""
    value = origin.strip().rstrip("/")
    if not _ORIGIN_RE.match(value):
        raise BadInput(f"invalid origin '{origin}'",
                       "give the web page's origin: scheme, host and port only, e.g. https://course.example.org")
    return value


def fmkit_rule(origin: str) -> dict[str, Any]:
    return {"ID": RULE_ID, "AllowedOrigins": [origin], "AllowedMethods": ["GET", "HEAD"],
            "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3600}


def merged_rules(existing: list[dict[str, Any]], origin: str) -> list[dict[str, Any]]:
    """Other tools' rules stay; fmkit's own rule is replaced by the one for `origin`."""
    return [r for r in existing if r.get("ID") != RULE_ID] + [fmkit_rule(origin)]


def allows(rules: list[dict[str, Any]], origin: str) -> bool:
    """Does some rule let `origin` GET objects (S3 matches origins with at most one '*')?"""
    for rule in rules:
        methods = {m.upper() for m in rule.get("AllowedMethods", [])}
        if "GET" in methods and any(fnmatch.fnmatchcase(origin, pattern.rstrip("/"))
                                    for pattern in rule.get("AllowedOrigins", [])):
            return True
    return False
