"""restic's side of browsing (``pyvolsync.inpod.browse``): ``restic ls`` and ``restic dump``.

Both run without a lock (``--no-lock``), so browsing works while a backup runs and on a
read-only repository. Paths inside a snapshot are the volume's own: the mover backs up ``.``
from inside ``DATA_DIR``, so ``/config/app.ini`` is that file. restic records no symlink target
in ``ls --json``: a folder's links get theirs from ``ls --long``.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
from collections.abc import Callable

from pyvolsync import contract
from pyvolsync.inpod import browse, modes, times
from pyvolsync.inpod.restic import commands, failures
from pyvolsync.inpod.restic.failures import ResticExit, exit_of

_TYPES = ("file", "dir", "symlink")


def entry(node: dict[str, object]) -> contract.TreeEntry:
    """Return a node of ``restic ls --json`` as a tree entry."""
    kind = str(node.get("type"))
    kind = kind if kind in _TYPES else "other"
    mtime = str(node.get("mtime") or "")
    return contract.TreeEntry(
        path=str(node["path"]),
        type=kind,
        mode=modes.from_go(_number(node.get("mode")), kind),
        uid=_number(node.get("uid")),
        gid=_number(node.get("gid")),
        size=_number(node.get("size")),
        mtime=times.utc_seconds(times.parse_rfc3339(mtime)) if mtime else "",
    )


def _number(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def nodes(text: str) -> list[contract.TreeEntry]:
    """Return the nodes ``restic ls --json`` printed (its first line is the snapshot)."""
    found = []
    for line in text.splitlines():
        document = json.loads(line) if line.startswith("{") else None
        if isinstance(document, dict) and document.get("struct_type") == "node":
            found.append(entry(document))
    return found


@dataclasses.dataclass(frozen=True, kw_only=True)
class ResticBrowser:
    """Browses the snapshots ``listed`` returns with ``runner``."""

    runner: failures.Runner
    listed: Callable[[], list[contract.CatalogEntry]]

    def catalog(self) -> list[contract.CatalogEntry]:
        """Return the snapshots browsing may read."""
        return self.listed()

    def tree(
        self, snapshot: contract.CatalogEntry, path: str, *, recursive: bool
    ) -> list[contract.TreeEntry] | None:
        """Return ``path`` and what is under it; None when the snapshot has no such path."""
        completed = self.runner.run(commands.ls(snapshot.id, path, recursive=recursive), quiet=True)
        if exit_of(completed) is not ResticExit.SUCCESS:
            raise failures.failure(completed, action=f"listing {path} (restic ls)")
        try:
            found = nodes(completed.stdout)
        except (ValueError, KeyError) as error:
            raise failures.error(
                contract.ErrorKind.RESTIC_FAILED, f"restic ls --json was not understood: {error}"
            ) from None
        if path != "/" and not any(item.path == path for item in found):
            return None
        links = [item.path for item in found if item.type == "symlink"]
        if recursive or not links:
            return found
        targets = self._link_targets(snapshot, path, links)
        return [dataclasses.replace(item, target=targets.get(item.path, "")) for item in found]

    def stream(
        self,
        snapshot: contract.CatalogEntry,
        entry: contract.TreeEntry,
        *,
        archive: bool,
        sink: browse.Sink,
    ) -> None:
        """Pass a file's content, or a tar archive of ``entry``, to ``sink``: restic's own
        archive of a folder; one member made here for a file (``restic dump`` gives its bare
        content) or a link (which it refuses alone)."""
        name = posixpath.basename(entry.path)
        if archive and entry.type == "symlink":
            target = self._link_targets(snapshot, entry.path, [entry.path]).get(entry.path, "")
            sink(browse.tar_member(entry, name=name, target=target))
        elif archive and entry.type == "file":
            sink(browse.tar_member(entry, name=name))
            self._dump(snapshot, entry, sink)
            sink(browse.tar_padding(entry.size))
        else:
            self._dump(snapshot, entry, sink)
            return
        sink(browse.TAR_END)

    def _dump(
        self, snapshot: contract.CatalogEntry, entry: contract.TreeEntry, sink: browse.Sink
    ) -> None:
        """Run ``restic dump`` (a file's content; a folder's tar archive) into ``sink``."""
        arguments = commands.dump(snapshot.id, entry.path, archive=entry.type != "file")
        counted = browse.Counted(sink)
        completed = self.runner.run(arguments, quiet=True, on_chunk=counted)
        if exit_of(completed) is not ResticExit.SUCCESS:
            raise failures.failure(completed, action=f"reading {entry.path} (restic dump)")
        if entry.type == "file" and counted.size != entry.size:
            raise failures.error(
                contract.ErrorKind.RESTIC_FAILED,
                f"restic dump gave {counted.size} bytes of {entry.path}, which has {entry.size}",
            )

    def _link_targets(
        self, snapshot: contract.CatalogEntry, path: str, links: list[str]
    ) -> dict[str, str]:
        """Return the targets of ``links`` (in ``path``), from ``restic ls --long``: the one
        place restic shows them."""
        completed = self.runner.run(commands.ls_long(snapshot.id, path), quiet=True)
        if exit_of(completed) is not ResticExit.SUCCESS:
            raise failures.failure(completed, action=f"reading the links of {path} (restic ls)")
        targets = {}
        for line in completed.stdout.splitlines():
            for link in links:
                marker = f" {link} -> "
                if marker in line:
                    targets[link] = line.split(marker, 1)[1]
        return targets
