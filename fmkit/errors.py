"""The errors fmkit reports to people: one line, a hint, and the exit code on the class.

Library code raises these; only the CLI turns them into a styled line and an exit code
(see fmkit.commands.common.fmkit_command).
"""

from __future__ import annotations


class FmkitError(Exception):
    """A failure we can explain in one line. Exit code 1: something went wrong at run time."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class UsageError(FmkitError):
    """The user asked for something invalid: a bad option value, path or key. Exit code 2."""

    exit_code = 2


class ProfileError(UsageError):
    """Unknown profile, unknown profile key, or a value of the wrong type."""


class BadInput(UsageError):
    """An input (text, size, range) that the command cannot work with."""


class OutputError(UsageError):
    """An output path that cannot be written, or exists and --force was not given."""


class ModelUnavailable(FmkitError):
    """The model is neither on this machine nor reachable. Exit code 1."""


class ModelNotHere(ModelUnavailable):
    """A catalog model that is not on this machine and cannot be fetched now (offline, no network);
    `source` says which, so a caller can offer another route (fmkit pull offers the offline one)."""

    def __init__(self, message: str, hint: str | None = None, source=None):
        super().__init__(message, hint)
        self.source = source


class RuntimeFailure(FmkitError):
    """A run-time failure that is not the user's fault: unreadable image, out of memory."""


class CredentialsError(RuntimeFailure):
    """A store has no credentials to use, or rejected them (wrong key or secret, expired token):
    every later request would fail the same way. Exit code 1."""


class AccessDenied(RuntimeFailure):
    """A store refused these credentials one action on one location (an IAM policy). Exit code 1."""


def is_out_of_memory(error: BaseException) -> bool:
    """Any way torch, CUDA or the C allocator says memory ran out (one test, used wherever it matters)."""
    if isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError":
        return True
    text = str(error).lower()  # e.g. "DefaultCPUAllocator: can't allocate memory: you tried to allocate ..."
    return any(words in text for words in ("out of memory", "can't allocate memory", "cannot allocate memory"))


class Interrupted(FmkitError):
    """Ctrl-C. Exit code 130, like a shell."""

    exit_code = 130
