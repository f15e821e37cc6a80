"""Say where the AWS credentials came from, so a wrong profile or a stale variable shows up.

Only the source and a masked access key id are ever returned: never the secret key.
"""

from __future__ import annotations

import os
from typing import Any

from fmkit.io.s3 import S3Store, mask


def describe(store: S3Store) -> dict[str, Any]:
    """{"source", "description", "access_key" (masked), "profile", "region", "endpoint"}.

    Raises RuntimeFailure("no AWS credentials found", where fmkit looked) when there are none."""
    from botocore.exceptions import BotoCoreError

    from fmkit.io.s3 import DEFAULT_REGION, s3_error

    session = store.session
    store.client  # resolves the endpoint (it may come from a profile's endpoint_url); no request yet
    try:
        creds = session.get_credentials()
    except BotoCoreError as e:
        raise s3_error(e, "s3://", store) from None
    if creds is None:
        from botocore.exceptions import NoCredentialsError

        raise s3_error(NoCredentialsError(), "s3://", store)
    method = getattr(creds, "method", "") or "unknown"
    profile = store.profile or os.environ.get("AWS_PROFILE") or "default"
    key = mask(creds.access_key)
    return {"source": method, "description": _words(method, profile, key), "access_key": key,
            "profile": profile if method in _PROFILE_METHODS else None,
            "region": session.region_name or DEFAULT_REGION, "endpoint": store.endpoint}


_PROFILE_METHODS = {"shared-credentials-file", "config-file", "assume-role", "sso", "custom-process",
                    "assume-role-with-web-identity", "login"}


def _words(method: str, profile: str, key: str) -> str:
    credentials_file = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    config_file = os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    words = {
        "env": f"environment variables (AWS_ACCESS_KEY_ID={key})",
        "explicit": f"given explicitly (access key {key})",
        "shared-credentials-file": f"shared credentials file {credentials_file}, profile {profile} (access key {key})",
        "config-file": f"config file {config_file}, profile {profile} (access key {key})",
        "iam-role": f"instance role (EC2 instance metadata, access key {key})",
        "container-role": f"container role (ECS/EKS task credentials, access key {key})",
        "assume-role": f"role assumed from profile {profile} ({config_file})",
        "assume-role-with-web-identity": "web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)",
        "sso": f"IAM Identity Center (SSO), profile {profile}",
        "custom-process": f"credential_process of profile {profile}",
    }
    return words.get(method, f"{method} (access key {key})")
