"""The mounted volume itself: is the source empty, and flushing a restore to disk.

Both engines treat a data directory that holds nothing (or only the file system's
``lost+found``) as an empty source, and both sync the file system after a restore, before the
application may start on it.
"""

from __future__ import annotations

import ctypes
import os

from pyvolsync import contract
from pyvolsync.inpod import errors

LOST_AND_FOUND = "lost+found"


def is_empty(data_dir: str) -> bool:
    """Return True when ``data_dir`` holds nothing but ``lost+found``; raise if unreadable."""
    try:
        with os.scandir(data_dir) as entries:
            return all(entry.name == LOST_AND_FOUND for entry in entries)
    except OSError as error:
        raise errors.ConfigurationError(
            f"{contract.EnvVar.DATA_DIR}={data_dir!r} cannot be read: {error.strerror}"
        ) from None


def sync_filesystem(path: str) -> None:
    """Flush the filesystem holding ``path`` to disk (syncfs, else a global sync)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.syncfs(descriptor) != 0:
            os.sync()
    except AttributeError:
        os.sync()
    finally:
        os.close(descriptor)
