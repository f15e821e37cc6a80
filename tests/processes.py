"""Children that take Ctrl-C: tests that send SIGINT to an fmkit process start it here.

A test run launched from a background job (a CI script started with `&`) has SIGINT ignored,
and children inherit SIG_IGN: Python then never installs its KeyboardInterrupt handler, so the
child ignores the test's Ctrl-C and the test times out. These children get SIGINT back at its
default before Python starts, as a terminal's foreground process has it.
"""

from __future__ import annotations

import signal
import subprocess
import sys


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def fmkit_popen(args, **kwargs) -> subprocess.Popen:
    """`python -m fmkit ARGS` as a child process that Ctrl-C (SIGINT) reaches."""
    return subprocess.Popen([sys.executable, "-m", "fmkit", *map(str, args)], preexec_fn=_sigint_default, **kwargs)


def interrupt(proc: subprocess.Popen) -> str:
    """Ctrl-C to a running fmkit, then its stderr once it has exited (killed if it hangs)."""
    try:
        proc.send_signal(signal.SIGINT)
        return proc.communicate(timeout=30)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
