"""Who a container's processes really ran as, read from /proc while they run.

The node agent runs a container as local processes (see localcluster/nodeagent/launch.py), so the
kernel's own record (/proc/<pid>/status) shows the user, groups and capabilities a mover had,
whatever its pod spec said. A pod's processes are recognised by their environment: every
container gets ``HOSTNAME=<pod name>`` (a mover pod's name starts with its Job's name) and
``KUBERNETES_SERVICE_PORT=<its cluster's API server port>``, which tells apart the pods of other
local clusters running on the same machine.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from types import TracebackType

PROC = Path("/proc")
POLL_SECONDS = 0.02


@dataclasses.dataclass(frozen=True)
class Identity:
    """The credentials of one process, as /proc/<pid>/status lists them."""

    pid: int
    command: str
    uids: tuple[int, ...]
    """Real, effective, saved and filesystem user IDs."""
    gids: tuple[int, ...]
    groups: tuple[int, ...]
    effective_capabilities: int

    @property
    def user(self) -> int:
        return self.uids[1]

    @property
    def group(self) -> int:
        return self.gids[1]


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def _status(pid: int) -> Identity | None:
    text = _read(PROC / str(pid) / "status")
    if text is None:
        return None
    fields = dict(
        line.split(":", 1) for line in text.decode(errors="replace").splitlines() if ":" in line
    )

    def numbers(name: str) -> tuple[int, ...]:
        return tuple(int(word) for word in fields.get(name, "").split())

    return Identity(
        pid=pid,
        command=fields.get("Name", "").strip(),
        uids=numbers("Uid"),
        gids=numbers("Gid"),
        groups=numbers("Groups"),
        effective_capabilities=int(fields.get("CapEff", "0").strip() or "0", 16),
    )


def _environment(pid: int) -> dict[str, str]:
    text = _read(PROC / str(pid) / "environ") or b""
    pairs = (entry.decode(errors="replace").partition("=") for entry in text.split(b"\0"))
    return {name: value for name, _, value in pairs if name}


class PodProcesses:
    """Records, in a background thread, every process of the pods of the cluster whose API
    server listens on ``api_port`` and whose name starts with ``prefix``; use as a context
    manager around the sync, then read ``seen``."""

    def __init__(self, prefix: str, *, api_port: str) -> None:
        self.prefix = prefix
        self.api_port = api_port
        self.seen: dict[int, Identity] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"proc-{prefix}", daemon=True)

    def __enter__(self) -> PodProcesses:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.is_set():
            self._look()
            self._stop.wait(POLL_SECONDS)

    def _look(self) -> None:
        for entry in PROC.iterdir():
            if not entry.name.isdigit() or int(entry.name) in self.seen:
                continue
            environment = _environment(int(entry.name))
            if environment.get("KUBERNETES_SERVICE_PORT") != self.api_port:
                continue
            if not environment.get("HOSTNAME", "").startswith(self.prefix):
                continue
            identity = _status(int(entry.name))
            if identity is not None:
                self.seen[identity.pid] = identity
