"""A mounted folder read like a snapshot: the ``Browser`` over a copy of the volume.

An in-place restore's safety copy can be a VolumeSnapshot instead of a backup. Its undo mounts a
volume made from that VolumeSnapshot and puts the restored paths back from it; reading that
folder through the same ``Browser`` protocol as a repository's snapshot lets ``restore-paths``
do it with the same checks, the same extraction aside and the same swap, whatever the engine.
"""

from __future__ import annotations

import datetime
import io
import os
import stat
import tarfile
from typing import Any

from pyvolsync import contract
from pyvolsync.inpod import browse, times

FOLDER_SNAPSHOT = "folder"
"""The one "snapshot" a folder has (its ID in the catalog)."""


class _SinkFile(io.RawIOBase):
    """The write end tarfile's stream mode needs, passing each block to a sink."""

    def __init__(self, sink: browse.Sink) -> None:
        super().__init__()
        self.sink = sink

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.sink(chunk)
        return len(chunk)


class FolderBrowser:
    """Browses ``root`` as if it were a snapshot of the volume."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/") or "/"

    def catalog(self) -> list[contract.CatalogEntry]:
        """Return the folder's one snapshot."""
        now = datetime.datetime.now(datetime.UTC)
        return [contract.CatalogEntry(id=FOLDER_SNAPSHOT, time=times.utc_seconds(now))]

    def _entry(self, path: str) -> contract.TreeEntry | None:
        full = self.root + path if path != "/" else self.root
        try:
            info = os.lstat(full)
        except FileNotFoundError:
            return None
        kind = "dir" if stat.S_ISDIR(info.st_mode) else "file"
        kind = "symlink" if stat.S_ISLNK(info.st_mode) else kind
        mtime = datetime.datetime.fromtimestamp(int(info.st_mtime), datetime.UTC)
        return contract.TreeEntry(
            path=path,
            type=kind,
            mode=stat.filemode(info.st_mode),
            uid=info.st_uid,
            gid=info.st_gid,
            size=info.st_size if kind == "file" else 0,
            mtime=times.utc_seconds(mtime),
            target=os.readlink(full) if kind == "symlink" else "",
        )

    def tree(
        self, snapshot: contract.CatalogEntry, path: str, *, recursive: bool
    ) -> list[contract.TreeEntry] | None:
        """Return ``path`` and what is directly in it (recursive listings are not needed)."""
        found = self._entry(path)
        if found is None:
            return None
        listed = [found]
        if found.type == "dir":
            full = self.root + path if path != "/" else self.root
            listed += [
                item
                for name in sorted(os.listdir(full))
                if (item := self._entry(path.rstrip("/") + "/" + name)) is not None
            ]
        return listed

    def stream(
        self,
        snapshot: contract.CatalogEntry,
        entry: contract.TreeEntry,
        *,
        archive: bool,
        sink: browse.Sink,
    ) -> None:
        """Pass a tar archive of ``entry`` (named by its last part) to ``sink``."""
        full = self.root + entry.path
        if not archive:
            with open(full, "rb") as stream:
                while chunk := stream.read(contract.STREAM_CHUNK):
                    sink(chunk)
            return
        with tarfile.open(fileobj=_SinkFile(sink), mode="w|", format=tarfile.PAX_FORMAT) as out:
            out.add(full, arcname=os.path.basename(full), recursive=True)
