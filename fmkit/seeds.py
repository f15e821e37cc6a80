"""Random seeds: drawn in one place, so every run that was not given one can report the one it used."""

from __future__ import annotations

import secrets

MAX_SEED = 2**31


def random_seed() -> int:
    return secrets.randbelow(MAX_SEED)
