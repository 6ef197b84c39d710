"""The restic workspace of the mover tests: restic's environment and the real restic at hand.

The generic parts (running the mover, the password check, describing trees) are in
``tests.inpod.inpod_support``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.inpod.inpod_support import NOBODY, PASSWORD, EngineWorkspace


class Workspace(EngineWorkspace):
    """A data directory, a repository, a cache and the environment that ties them together."""

    engine = "restic"

    def __init__(self, root: Path, restic_dir: Path) -> None:
        super().__init__(root, restic_dir)
        self.repository = root / "repository"
        self.restic_dir = restic_dir
        self.env |= {
            "RESTIC_REPOSITORY": str(self.repository),
            "RESTIC_PASSWORD": PASSWORD,
            "RESTIC_CACHE_DIR": str(self.cache),
        }

    def restic_as_nobody(self, *, hand_over_repository: bool = True) -> str:
        """Return a PATH whose ``restic`` is the real one run as user nobody (an unprivileged
        mover); the cache, and unless told otherwise the repository, are handed to nobody."""
        wrapper_dir = self.root / "restic-as-nobody"
        wrapper_dir.mkdir()
        wrapper = wrapper_dir / "restic"
        wrapper.write_text(
            "#!/bin/sh\n"
            f"exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups "
            f'{self.restic_dir}/restic "$@"\n'
        )
        wrapper.chmod(0o755)
        os.chown(self.cache, NOBODY, NOBODY)
        if hand_over_repository:
            self.repository.mkdir(exist_ok=True)
            os.chown(self.repository, NOBODY, NOBODY)
        return f"{wrapper_dir}:{self.env['PATH']}"

    def restic(
        self, *arguments: str, cwd: Path | None = None, check: bool = True, **overrides: str | None
    ) -> subprocess.CompletedProcess[str]:
        """Run the real restic directly (to set up a scene, or to look at the repository)."""
        return subprocess.run(
            ["restic", *arguments],
            env=self.environ(overrides),
            cwd=cwd,
            capture_output=True,
            text=True,
            check=check,
            timeout=180,
        )

    def snapshots(self) -> list[dict[str, Any]]:
        """Return every snapshot in the repository, oldest first."""
        listing = json.loads(self.restic("snapshots", "--json", "--no-lock").stdout)
        return sorted(listing, key=lambda snapshot: snapshot["time"])

    def backup_at(self, time: str, *, cwd: Path | None = None) -> str:
        """Snapshot the data directory as upstream does, dated ``time``; return its ID."""
        completed = self.restic(
            "backup", "--host", "volsync", "--json", "--time", time, ".", cwd=cwd or self.data
        )
        summary = json.loads(completed.stdout.strip().splitlines()[-1])
        return str(summary["snapshot_id"])
