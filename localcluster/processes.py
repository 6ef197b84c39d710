"""Start the control-plane processes and stop exactly those, even from another Python process.

`python -m localcluster up` exits while the cluster keeps running, and `down` runs later in a new
process, so every started process is recorded in `<state>/pids/<name>.pid` together with its
kernel start time. Stopping checks that start time before signalling, so a recycled PID is never
signalled. Each process leads its own process group; stopping ends the whole group (for the
node agent, whose containers are its children).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

STOP_GRACE_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1


@dataclasses.dataclass(frozen=True)
class Recorded:
    """A process this package started: its name, PID and kernel start time."""

    name: str
    pid: int
    start_time: str

    def alive(self) -> bool:
        """True while the same process (not a recycled PID) exists and is not a zombie."""
        stat = _read_stat(self.pid)
        return stat is not None and stat[1] == self.start_time and stat[0] != "Z"


def _read_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) from /proc/<pid>/stat, or None when the PID does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], fields[19]


def free_ports(count: int) -> list[int]:
    """Distinct loopback TCP ports that were free a moment ago.

    All are held open together while chosen, so the kernel cannot hand out one port twice.
    """
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


def _die_with_parent() -> None:
    """Runs in the child: ask the kernel for SIGTERM when the starting process dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ProcessTable:
    """The PID files under one state directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def record(self, name: str, pid: int) -> Recorded:
        """Remember a started process; its start time guards against PID reuse."""
        stat = _read_stat(pid)
        start_time = stat[1] if stat else "0"
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / f"{name}.pid").write_text(f"{pid} {start_time}\n")
        return Recorded(name, pid, start_time)

    def recorded(self) -> list[Recorded]:
        """Every recorded process, alive or not, newest first (the order to stop them in)."""
        entries = []
        for path in self.directory.glob("*.pid"):
            pid, _, start_time = path.read_text().strip().partition(" ")
            entries.append((path.stat().st_mtime_ns, Recorded(path.stem, int(pid), start_time)))
        return [entry for _, entry in sorted(entries, key=lambda item: item[0], reverse=True)]

    def alive(self) -> list[Recorded]:
        """The recorded processes that are still running."""
        return [entry for entry in self.recorded() if entry.alive()]

    def forget(self, name: str) -> None:
        """Drop the PID file of a process that has been stopped."""
        (self.directory / f"{name}.pid").unlink(missing_ok=True)


def start(
    name: str,
    command: Sequence[str],
    *,
    table: ProcessTable,
    log_directory: Path,
    environment: Mapping[str, str] | None = None,
    working_directory: Path | None = None,
    die_with_parent: bool,
    append: bool = False,
) -> subprocess.Popen[bytes]:
    """Start `command` in its own session with output in `<log_directory>/<name>.log`.

    With `die_with_parent` the kernel ends it when the starting process dies (test sessions);
    without it the process outlives the starter (`python -m localcluster up`). A restarted
    component `append`s to its log, so what happened before the restart stays readable.
    """
    log_directory.mkdir(parents=True, exist_ok=True)
    with (log_directory / f"{name}.log").open("ab" if append else "wb") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(environment) if environment is not None else None,
            cwd=working_directory,
            start_new_session=True,
            preexec_fn=_die_with_parent if die_with_parent else None,  # noqa: PLW1509
        )
    table.record(name, process.pid)
    return process


def _reap(pid: int, *, timeout: float = 0.0) -> None:
    """Collect the exit status if the process is our child, so it does not linger as a zombie.

    A multi-threaded process shows as a zombie as soon as its main thread exits, but can be
    collected only once every thread has, hence the wait of up to `timeout`.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            collected, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if collected == pid or time.monotonic() >= deadline:
            return
        time.sleep(0.02)


def _wait_gone(entry: Recorded, deadline: float) -> bool:
    while time.monotonic() < deadline:
        _reap(entry.pid)
        if not entry.alive():
            return True
        time.sleep(0.05)
    return False


def _signal_group(entry: Recorded, signal_number: int) -> None:
    """Signal the process group the entry leads; after the leader exits its group ID stays unused
    by new processes while members remain, so this reaches only what the entry started."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(entry.pid, signal_number)


def stop(entry: Recorded, *, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM the process, then SIGKILL its group if it has not exited within the grace period.

    A stale entry (its process already gone) is not signalled at all: its IDs may be reused.
    """
    if not entry.alive():
        _reap(entry.pid)
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(entry.pid, signal.SIGTERM)
    if not _wait_gone(entry, time.monotonic() + grace_seconds):
        _signal_group(entry, signal.SIGKILL)
        _wait_gone(entry, time.monotonic() + grace_seconds)
    # Members of its group that outlived the leader (e.g. a container of the node agent).
    _signal_group(entry, signal.SIGKILL)
    _reap(entry.pid, timeout=grace_seconds)


def stop_all(table: ProcessTable, *, on_stop: Callable[[Recorded], None] | None = None) -> None:
    """Stop every recorded process, newest first, and forget it."""
    for entry in table.recorded():
        stop(entry)
        if on_stop is not None:
            on_stop(entry)
        table.forget(entry.name)
