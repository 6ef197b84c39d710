"""kopia's side of browsing (``pyvolsync.inpod.browse``): folders walked with ``kopia show``.

A kopia folder is a JSON object (``{"stream": "kopia:directory", "entries": [...]}``) and a
file or link target is an object too, so ``kopia show OBJECT`` reads both. Paths are walked
name by name from the snapshot's root object, never handed to kopia as text, so any name
(newlines, ``*``, leading dashes) is found exactly. A folder's download is a tar archive written
here, member by member, each file's content streamed from ``kopia show``.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pyvolsync import contract
from pyvolsync.inpod import browse, modes, times
from pyvolsync.inpod.kopia import commands, failures

_TYPES = {"f": "file", "d": "dir", "s": "symlink"}


def entry(folder: str, item: Mapping[str, Any]) -> contract.TreeEntry:
    """Return an entry of a kopia folder listing as a tree entry."""
    kind = _TYPES.get(str(item.get("type")), "other")
    mtime = str(item.get("mtime") or "")
    return contract.TreeEntry(
        path=posixpath.join(folder, str(item["name"])),
        type=kind,
        mode=modes.from_octal(str(item.get("mode", "0")), kind),
        uid=int(item.get("uid") or 0),
        gid=int(item.get("gid") or 0),
        size=int(item.get("size") or 0) if kind == "file" else 0,
        mtime=times.utc_seconds(times.parse_rfc3339(mtime)) if mtime else "",
    )


class KopiaBrowser:
    """Browses the identity's snapshots; ``listed`` returns them with their root objects."""

    def __init__(
        self,
        runner: failures.Runner,
        listed: Callable[[], tuple[list[contract.CatalogEntry], dict[str, str]]],
    ) -> None:
        self.runner = runner
        self.listed = listed
        self.roots: dict[str, str] = {}
        self.objects: dict[tuple[str, str], str] = {}
        """The object of each path seen, by snapshot ID and path."""
        self.folders: dict[str, list[Any]] = {}
        """Each folder's entries read, by object ID: an object never changes, so a walk to a
        second file of the same folder (a drill's sample) reads no folder twice."""

    def catalog(self) -> list[contract.CatalogEntry]:
        """Return the identity's snapshots."""
        entries, self.roots = self.listed()
        return entries

    def _show(self, object_id: str, sink: browse.Sink | None = None) -> str:
        completed = self.runner.run(commands.show(object_id), quiet=True, on_chunk=sink)
        if completed.returncode != 0:
            raise failures.failure(completed, action=f"reading object {object_id} (kopia show)")
        return completed.stdout

    def _folder(self, snapshot: str, path: str, object_id: str) -> list[contract.TreeEntry]:
        items = self.folders.get(object_id)
        if items is None:
            try:
                items = list(json.loads(self._show(object_id))["entries"])
            except (ValueError, KeyError, TypeError) as error:
                raise failures.error(
                    contract.ErrorKind.KOPIA_FAILED,
                    f"the folder {path} was not understood: {error}",
                ) from None
            self.folders[object_id] = items
        found = []
        for item in items:
            child = entry(path, item)
            self.objects[(snapshot, child.path)] = str(item.get("obj"))
            found.append(child)
        return found

    def _located(self, snapshot: contract.CatalogEntry, path: str) -> contract.TreeEntry | None:
        """Walk from the root to ``path``, name by name; return its entry, or None."""
        root = contract.TreeEntry(path="/", type="dir", mode="drwxr-xr-x")
        self.objects[(snapshot.id, "/")] = self.roots[snapshot.id]
        current: contract.TreeEntry | None = root
        for name in [part for part in path.split("/") if part]:
            if current is None or current.type != "dir":
                return None
            listing = self._folder(snapshot.id, current.path, self._object(snapshot, current))
            current = next(
                (item for item in listing if posixpath.basename(item.path) == name), None
            )
        return current

    def _object(self, snapshot: contract.CatalogEntry, entry: contract.TreeEntry) -> str:
        return self.objects[(snapshot.id, entry.path)]

    def _below(
        self, snapshot: contract.CatalogEntry, folder: contract.TreeEntry, *, recursive: bool
    ) -> Iterator[contract.TreeEntry]:
        for item in self._folder(snapshot.id, folder.path, self._object(snapshot, folder)):
            yield item
            if recursive and item.type == "dir":
                yield from self._below(snapshot, item, recursive=True)

    def tree(
        self, snapshot: contract.CatalogEntry, path: str, *, recursive: bool
    ) -> list[contract.TreeEntry] | None:
        """Return ``path`` and what is under it; None when the snapshot has no such path."""
        located = self._located(snapshot, path)
        if located is None:
            return None
        if located.type != "dir":
            return [self._with_target(snapshot, located)]
        below = list(self._below(snapshot, located, recursive=recursive))
        if not recursive:
            below = [self._with_target(snapshot, item) for item in below]
        return [located, *below]

    def _with_target(
        self, snapshot: contract.CatalogEntry, entry: contract.TreeEntry
    ) -> contract.TreeEntry:
        """Return a link's entry with its target (its object's content); others as they are."""
        if entry.type != "symlink":
            return entry
        return dataclasses.replace(entry, target=self._show(self._object(snapshot, entry)))

    def stream(
        self,
        snapshot: contract.CatalogEntry,
        entry: contract.TreeEntry,
        *,
        archive: bool,
        sink: browse.Sink,
    ) -> None:
        """Pass a file's content, or a tar archive of ``entry`` and what is under it (written
        here, member by member), to ``sink``."""
        if not archive:
            self._show(self._object(snapshot, entry), sink)
            return
        folder = posixpath.dirname(entry.path)
        members = [entry]
        if entry.type == "dir":
            members += list(self._below(snapshot, entry, recursive=True))
        for member in members:
            if member.path == "/":
                continue
            self._member(snapshot, member, posixpath.relpath(member.path, folder), sink)
        sink(browse.TAR_END)

    def _member(
        self,
        snapshot: contract.CatalogEntry,
        member: contract.TreeEntry,
        name: str,
        sink: browse.Sink,
    ) -> None:
        object_id = self._object(snapshot, member)
        if member.type == "symlink":
            sink(browse.tar_member(member, name=name, target=self._show(object_id)))
        elif member.type == "dir":
            sink(browse.tar_member(member, name=name))
        elif member.type == "file":
            sink(browse.tar_member(member, name=name))
            counted = browse.Counted(sink)
            self._show(object_id, counted)
            if counted.size != member.size:
                raise failures.error(
                    contract.ErrorKind.KOPIA_FAILED,
                    f"kopia show gave {counted.size} bytes of {member.path}, which has "
                    f"{member.size}",
                )
            sink(browse.tar_padding(member.size))
