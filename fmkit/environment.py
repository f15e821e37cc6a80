"""Process-wide environment: fmkit's home folder, offline mode, and quieting noisy libraries.

Hugging Face and Ultralytics read their settings from environment variables when they are
first imported, so `prepare()` must run before any task imports them. The CLI calls it once
per command.
"""

from __future__ import annotations

import logging
import os
import socket
import warnings
from functools import lru_cache
from pathlib import Path

TRUE = {"1", "true", "yes", "on"}

# FMKIT_* variables that are not profile settings (those are FMKIT_<SECTION>_<KEY>): every one
# the project reads, here and only here, so that setting one never stops a command as an
# "unknown environment variable" (benchmarks/sd15_random.py's cache did, on the first GPU run).
OWN_VARIABLES = {
    "FMKIT_PROFILE": "the profile to use (as --profile)",
    "FMKIT_OFFLINE": "1 = never touch the network (as --offline)",
    "FMKIT_HOME": "fmkit's own state: user profiles, YOLO weights, converted models (default ~/.fmkit)",
    "FMKIT_BENCH_CACHE": "benchmarks: where the random-weight SD 1.5 folder is built once",
    "FMKIT_KEEP_TEST_DIR": "tests: 1 = keep the test run's temporary folder, to look at after a failure",
}


def fmkit_home() -> Path:
    """fmkit's own state (user profiles, YOLO weights and settings): $FMKIT_HOME or ~/.fmkit."""
    return Path(os.environ.get("FMKIT_HOME") or Path.home() / ".fmkit").expanduser()


def offline_requested() -> bool:
    """True when the user asked for offline mode (--offline sets FMKIT_OFFLINE=1)."""
    return os.environ.get("FMKIT_OFFLINE", "").strip().lower() in TRUE or \
        os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in TRUE


def hf_endpoint_host() -> str:
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    return endpoint.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]


@lru_cache(maxsize=None)
def network_reachable(host: str | None = None, timeout: float = 2.0) -> bool:
    """Can we open a TCP connection to the model hub? Answers in <= ~2 s, cached per process.

    Used before a download so that no network fails in seconds, instead of after the
    25-50 s of retries that huggingface_hub does on its own.
    """
    host = host or hf_endpoint_host()
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def prepare(offline: bool | None = None, download_progress: bool = False) -> None:
    """Set up the environment before heavy libraries import. Idempotent.

    Hugging Face progress bars ("Loading weights", "Fetching files") are hidden except when
    downloading (`fmkit pull`), where they are the progress the user wants to see.
    """
    if offline:
        os.environ["FMKIT_OFFLINE"] = "1"
    if offline_requested():
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
    home = fmkit_home()
    # Ultralytics: settings under fmkit's home (never the working directory), no DNS
    # look-ups, no analytics, no pip installs, nothing printed to stdout. fmkit resolves
    # and downloads weights itself (catalog.py), so YOLO never needs the network.
    os.environ.setdefault("YOLO_CONFIG_DIR", str(home / "ultralytics"))
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "False"
    os.environ["YOLO_VERBOSE"] = "False"
    os.environ.setdefault("MPLCONFIGDIR", str(home / "matplotlib"))
    # Hugging Face: no telemetry, errors only; tokenizers must not fork-warn.
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "0" if download_progress else "1"
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    silence_library_warnings()


def silence_library_warnings() -> None:
    """Warnings that tell a student nothing they can act on are hidden (fmkit reports what matters).

    Deprecation notices are for library developers, whichever module they point at (with
    stacklevel they often name the caller); UserWarnings only from the model libraries.
    """
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    for module in ("transformers", "diffusers", "huggingface_hub", "torch", "accelerate",
                   "ultralytics", "bertviz", "torchvision", "matplotlib", "tokenizers"):
        warnings.filterwarnings("ignore", category=UserWarning, module=module + r"(\.|$)")
    for name in ("transformers", "diffusers", "huggingface_hub", "accelerate", "ultralytics",
                 "torch._dynamo", "torch._inductor"):
        logging.getLogger(name).setLevel(logging.ERROR)
