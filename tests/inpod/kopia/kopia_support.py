"""The kopia workspace of the mover tests: the fork's environment and the real kopia at hand.

The generic parts (running the mover, the password check, describing trees) are in
``tests.inpod.inpod_support``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.inpod.inpod_support import PASSWORD, EngineWorkspace

USERNAME, HOSTNAME = "app", "ns"


class Workspace(EngineWorkspace):
    """A data directory, a filesystem repository, a cache and the mover's environment."""

    engine = "kopia"

    def __init__(self, root: Path, kopia_dir: Path) -> None:
        super().__init__(root, kopia_dir)
        self.repository = root / "repository"
        self.env |= {
            "KOPIA_REPOSITORY": f"filesystem://{self.repository}",
            "KOPIA_PASSWORD": PASSWORD,
            "KOPIA_CACHE_DIR": str(self.cache),
            "KOPIA_OVERRIDE_USERNAME": USERNAME,
            "KOPIA_OVERRIDE_HOSTNAME": HOSTNAME,
            "KOPIA_CHECK_FOR_UPDATES": "false",
            "PYVOLSYNC_PROGRESS_INTERVAL": "0",
        }

    def kopia(self, *arguments: str, identity: str = f"{USERNAME}@{HOSTNAME}") -> str:
        """Run the real kopia as ``identity`` (its own configuration file); return stdout."""
        username, _, hostname = identity.partition("@")
        config = self.root / f"direct-{identity}.config"
        prefix = ["kopia", f"--config-file={config}", "--disable-file-logging"]
        if not config.exists():
            connect = ("repository", "connect", "filesystem", f"--path={self.repository}")
            self._run(
                *prefix,
                *connect,
                f"--cache-directory={self.root / 'direct-cache'}",
                f"--override-username={username}",
                f"--override-hostname={hostname}",
                "--no-persist-credentials",
            )
        return self._run(*prefix, *arguments)

    def _run(self, *argv: str) -> str:
        return subprocess.run(
            argv, env=self.environ({}), capture_output=True, text=True, check=True, timeout=120
        ).stdout

    def snapshots(self, target: str = "--all") -> list[dict[str, Any]]:
        """Return the snapshots of ``target`` (``user@host:/path``; default every one)."""
        listing: list[dict[str, Any]] = json.loads(self.kopia("snapshot", "list", target, "--json"))
        return listing

    def snapshot_at(self, start_time: str, *, source: str) -> str:
        """Snapshot the data directory as the default identity, dated ``start_time`` (kopia's
        ``2006-01-02 15:04:05 MST`` form) and recorded as ``source``; return its ID."""
        manifest = json.loads(
            self.kopia(
                "snapshot",
                "create",
                str(self.data),
                f"--override-source={source}",
                f"--start-time={start_time}",
                "--json",
            )
        )
        return str(manifest["id"])
