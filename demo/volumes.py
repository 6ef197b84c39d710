"""Volumes and their mount point, imitated with renames so the mover sees what it sees in a pod.

In a pod the mover always finds the volume at ``DATA_DIR`` (``/data``), whichever volume that is:
the source PVC when it backs up, a fresh destination PVC when it restores. Restic and the mover
identify a snapshot by that path, so a restore "into another directory" means mounting another
volume at the same path. A rename within one filesystem does that instantly, for a tree of any
size, without privileges, and ``mounted`` always puts the volume back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def mounted(volume: Path, *, mount_point: Path) -> Iterator[Path]:
    """Move the directory ``volume`` to ``mount_point`` for the block's duration, then back.

    ``mount_point`` must not exist (or be an empty directory) and be on the same filesystem.
    """
    mount_point.parent.mkdir(parents=True, exist_ok=True)
    volume.rename(mount_point)
    try:
        yield mount_point
    finally:
        mount_point.rename(volume)
