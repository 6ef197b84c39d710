"""`pyvolsync ui` started as a user starts it, for the console's browser tests and its benchmark:
the installed command in a subprocess; the address it prints is read as a user would copy it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

PYVOLSYNC = str(Path(sys.executable).parent / "pyvolsync")
CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium (scripts/ensure-chromium.sh installs it); Playwright downloads none."""
ADDRESS = re.compile(r"(http://127\.0\.0\.1:\d+)/(login\?token=\S+)?")
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 15


class NotStartedError(RuntimeError):
    """`pyvolsync ui` ended before it printed its address; the message has what it printed."""


class RunningConsole:
    """A `pyvolsync ui` process: its login address (its base address when people log in on
    its page), its base address."""

    def __init__(self, process: subprocess.Popen[str], login: str, base: str) -> None:
        self.process = process
        self.login = login
        self.base = base

    def stop(self) -> str:
        """Stop it as Ctrl-C does; return what it printed after the address."""
        self.process.send_signal(signal.SIGINT)
        try:
            rest, _ = self.process.communicate(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            rest, _ = self.process.communicate()
        return rest


def start_console(kubeconfig: Path, *arguments: str) -> RunningConsole:
    """Start `pyvolsync ui --port 0 ARGS` and wait for the address it prints."""
    process = subprocess.Popen(
        [PYVOLSYNC, "ui", "--port", "0", "--kubeconfig", str(kubeconfig), *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        found = ADDRESS.search(line)
        if found:
            return RunningConsole(process, found.group(0), found.group(1))
    process.wait(timeout=START_TIMEOUT_SECONDS)
    raise NotStartedError(f"`pyvolsync ui` exited with {process.returncode}:\n{''.join(seen)}")
