"""Browsing a snapshot without restoring it: ``ls``, ``cat``, ``download``, ``find``, ``diff``.

The most common restore is one file. These read-only operations let the CLI list a snapshot's
folders, read a file, download files and folders, find which snapshots hold a path and compare
two snapshots, through a short Job like ``snapshots``. What is engine-specific (listing a
folder, streaming a file or a tar archive) is behind ``Browser``; choosing the snapshot, checking
paths, matching, comparing and the output format are here, the same for every engine.

A listing is one JSON line (``contract.tree_line``). File content travels as text lines in the
pod's log (``contract.STREAM_KEY``): base64 chunks between a header and a trailer that carries
the byte count and SHA-256, so the reader can prove that every byte arrived. While a stream is
written nothing else is logged, so no other line can come between its lines.
"""

from __future__ import annotations

import base64
import dataclasses
import difflib
import fnmatch
import hashlib
import json
import logging
import posixpath
import stat
import sys
import tarfile
from collections.abc import Callable, Sequence
from typing import Protocol

from pyvolsync import contract
from pyvolsync.inpod import errors, report, settings, times

logger = logging.getLogger(__name__)

Sink = Callable[[bytes], None]

FIND_LIMIT = 10000
"""Matches ``find`` prints at most (the newest first); it says when there were more."""


class Browser(Protocol):
    """What an engine gives browsing."""

    def catalog(self) -> list[contract.CatalogEntry]:
        """Return the snapshots browsing may read (the object's own)."""

    def tree(
        self, snapshot: contract.CatalogEntry, path: str, *, recursive: bool
    ) -> list[contract.TreeEntry] | None:
        """Return ``path`` and what is under it (everything if ``recursive``, else one level);
        None when the snapshot has no such path."""

    def stream(
        self,
        snapshot: contract.CatalogEntry,
        entry: contract.TreeEntry,
        *,
        archive: bool,
        sink: Sink,
    ) -> None:
        """Pass a file's content (or, with ``archive``, a tar archive of ``entry`` and what is
        under it, named relative to its folder) to ``sink``."""


def chosen(
    entries: Sequence[contract.CatalogEntry], wanted: settings.Browsing
) -> contract.CatalogEntry:
    """Return the snapshot to read: the one ``PYVOLSYNC_SNAPSHOT`` names, else the newest at or
    before ``PYVOLSYNC_AS_OF``, else the newest; raise ConfigurationError when there is none."""
    if wanted.snapshot:
        return report.chosen_snapshot(entries, wanted.snapshot)
    newest_first = contract.newest_first(entries)
    if wanted.as_of is not None:
        limit = times.utc_seconds(wanted.as_of)
        newest_first = [entry for entry in newest_first if entry.time <= limit]
    if not newest_first:
        when = f" at or before {times.utc_seconds(wanted.as_of)}" if wanted.as_of else ""
        raise errors.ConfigurationError(f"there is no snapshot{when} to read")
    return newest_first[0]


def _named(snapshot: contract.CatalogEntry) -> str:
    return f"snapshot {snapshot.id[:8]} ({snapshot.time})"


def not_found(
    browser: Browser, snapshot: contract.CatalogEntry, path: str
) -> errors.ConfigurationError:
    """Return the error for a path the snapshot does not hold, naming the closest names in the
    nearest folder that exists."""
    folder, name = posixpath.split(path)
    while True:
        found = browser.tree(snapshot, folder, recursive=False)
        if found is not None or folder == "/":
            break
        folder, name = posixpath.split(folder)
    names = [posixpath.basename(entry.path) for entry in found or () if entry.path != folder]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = (
        f"; the closest in {folder}: {', '.join(posixpath.join(folder, item) for item in close)}"
        if close
        else f"; {folder} holds {len(names)} entries (`pyvolsync ls` shows them)"
    )
    return errors.ConfigurationError(f"{_named(snapshot)} has no {path}{hint}")


def _existing(
    browser: Browser, snapshot: contract.CatalogEntry, path: str, *, recursive: bool = False
) -> list[contract.TreeEntry]:
    found = browser.tree(snapshot, path, recursive=recursive)
    if found is None:
        raise not_found(browser, snapshot, path)
    return found


def named_paths(wanted: settings.Browsing, *, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    paths = wanted.paths or default
    if not paths:
        raise errors.ConfigurationError(f"{contract.EnvVar.PATHS} must name at least one path")
    return paths


def printed(
    operation: contract.Operation,
    entries: Sequence[contract.TreeEntry],
    snapshot: contract.CatalogEntry | None,
    message: str,
) -> contract.OperationResult:
    print(contract.tree_line(entries, snapshot=snapshot.id if snapshot else ""), flush=True)
    logger.info("%s", message)
    return contract.OperationResult(
        operation=operation,
        outcome=contract.Outcome.SUCCEEDED,
        snapshot_id=snapshot.id if snapshot else "",
        message=message,
    )


def ls(browser: Browser, wanted: settings.Browsing) -> contract.OperationResult:
    """Print the entries of a folder (or the one file) of the chosen snapshot."""
    snapshot = chosen(browser.catalog(), wanted)
    path = named_paths(wanted, default=("/",))[0]
    found = _existing(browser, snapshot, path)
    listed = [entry for entry in found if entry.path != path or entry.type != "dir"]
    return printed(
        contract.Operation.LS, listed, snapshot, f"{path} in {_named(snapshot)}: {len(listed)}"
    )


class StreamWriter:
    """Writes one stream: its header, base64 data lines, and the trailer with size and hash."""

    def __init__(self, path: str, *, archive: bool) -> None:
        self.hash = hashlib.sha256()
        self.size = 0
        self.pending = b""
        self._line({contract.STREAM_KEY: {"path": path, "archive": archive}})

    def _line(self, document: object) -> None:
        sys.stdout.write(json.dumps(document) + "\n")

    def write(self, data: bytes) -> None:
        """Take the next bytes; write every full chunk as one line."""
        self.hash.update(data)
        self.size += len(data)
        self.pending += data
        chunk = contract.STREAM_CHUNK
        while len(self.pending) >= chunk:
            self._data(self.pending[:chunk])
            self.pending = self.pending[chunk:]

    def _data(self, data: bytes) -> None:
        encoded = base64.b64encode(data).decode()
        sys.stdout.write(f"{contract.STREAM_DATA_PREFIX}{encoded}\n")

    def close(self) -> None:
        """Write what is left and the trailer."""
        if self.pending:
            self._data(self.pending)
        self._line({contract.STREAM_END_KEY: {"bytes": self.size, "sha256": self.hash.hexdigest()}})
        sys.stdout.flush()


def _streamed(
    browser: Browser, snapshot: contract.CatalogEntry, entry: contract.TreeEntry, *, archive: bool
) -> int:
    sys.stdout.flush()
    writer = StreamWriter(entry.path, archive=archive)
    browser.stream(snapshot, entry, archive=archive, sink=writer.write)
    writer.close()
    return writer.size


class Counted:
    """A sink that counts the bytes it passes on."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.size = 0

    def __call__(self, data: bytes) -> None:
        self.size += len(data)
        self.sink(data)


def tar_member(entry: contract.TreeEntry, *, name: str, target: str = "") -> bytes:
    """Return the tar header of ``entry`` under ``name`` (a file's content follows it, padded
    to 512 bytes); ``target`` is a link's."""
    info = tarfile.TarInfo(name)
    info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE}.get(
        entry.type, tarfile.REGTYPE
    )
    info.size = entry.size if entry.type == "file" else 0
    info.mode = stat.S_IMODE(unix_mode(entry.mode))
    info.uid, info.gid = entry.uid, entry.gid
    info.mtime = int(times.parse_rfc3339(entry.mtime).timestamp()) if entry.mtime else 0
    info.linkname = target
    return info.tobuf(format=tarfile.PAX_FORMAT)


def tar_padding(size: int) -> bytes:
    """Return the zeros that fill a member's content of ``size`` bytes to a 512-byte block."""
    return b"\0" * (-size % tarfile.BLOCKSIZE)


TAR_END = b"\0" * (2 * tarfile.BLOCKSIZE)
"""The end of a tar archive."""


def unix_mode(text: str) -> int:
    """Return the permission bits of an ``ls -l`` mode (``-rwsr-xr-x``)."""
    bits = sum(value for letter, value in zip(text[1:10], _PERMISSIONS, strict=False)
               if letter not in "-ST")  # fmt: skip
    specials = ((3, "sS", stat.S_ISUID), (6, "sS", stat.S_ISGID), (9, "tT", stat.S_ISVTX))
    for position, letters, value in specials:
        if len(text) > position and text[position] in letters:
            bits |= value
    return bits


_PERMISSIONS = (
    stat.S_IRUSR, stat.S_IWUSR, stat.S_IXUSR,
    stat.S_IRGRP, stat.S_IWGRP, stat.S_IXGRP,
    stat.S_IROTH, stat.S_IWOTH, stat.S_IXOTH,
)  # fmt: skip


def cat(browser: Browser, wanted: settings.Browsing) -> contract.OperationResult:
    """Stream the content of one file of the chosen snapshot."""
    snapshot = chosen(browser.catalog(), wanted)
    path = named_paths(wanted)[0]
    found = _existing(browser, snapshot, path)
    if len(found) != 1 or found[0].path != path or found[0].type != "file":
        kind = "a folder" if any(entry.path == path for entry in found) else "not a file"
        raise errors.ConfigurationError(
            f"{path} in {_named(snapshot)} is {kind}: `pyvolsync ls` lists a folder, "
            "`pyvolsync download` fetches it"
        )
    size = _streamed(browser, snapshot, found[0], archive=False)
    return printed(contract.Operation.CAT, found, snapshot, f"{path}: {size} bytes")


def entry_of(found: Sequence[contract.TreeEntry], path: str) -> contract.TreeEntry:
    """Return the entry of ``path`` itself among a listing of it (the root has none)."""
    for entry in found:
        if entry.path == path:
            return entry
    return contract.TreeEntry(path=path, type="dir", mode="drwxr-xr-x")


def download(browser: Browser, wanted: settings.Browsing) -> contract.OperationResult:
    """Stream each path of the chosen snapshot as a tar archive (files, folders, links, with
    their modes and times)."""
    snapshot = chosen(browser.catalog(), wanted)
    paths = named_paths(wanted)
    entries = [entry_of(_existing(browser, snapshot, path), path) for path in paths]
    total = sum(_streamed(browser, snapshot, entry, archive=True) for entry in entries)
    return printed(
        contract.Operation.DOWNLOAD, entries, snapshot, f"{len(paths)} paths: {total} bytes of tar"
    )


def _matches(entry: contract.TreeEntry, pattern: str) -> bool:
    name = posixpath.basename(entry.path)
    return fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(entry.path, pattern)


def find(browser: Browser, wanted: settings.Browsing) -> contract.OperationResult:
    """Print the entries matching the pattern in each snapshot, newest snapshot first."""
    if not wanted.pattern:
        raise errors.ConfigurationError(f"{contract.EnvVar.PATTERN} must be a pattern (*.db)")
    snapshots = contract.newest_first(browser.catalog())
    matched: list[contract.TreeEntry] = []
    for snapshot in snapshots:
        for entry in browser.tree(snapshot, "/", recursive=True) or ():
            if entry.path != "/" and _matches(entry, wanted.pattern):
                matched.append(dataclasses.replace(entry, snapshot=snapshot.id))
    message = f"{len(matched)} matches of {wanted.pattern!r} in {len(snapshots)} snapshots"
    if len(matched) > FIND_LIMIT:
        message += f"; the first {FIND_LIMIT} are shown"
    return printed(contract.Operation.FIND, matched[:FIND_LIMIT], None, message)


def _compared(entry: contract.TreeEntry) -> tuple[str, str, int, str, str]:
    size = entry.size if entry.type == "file" else 0
    return (entry.type, entry.mode, size, entry.mtime, entry.target)


def changes(
    before: Sequence[contract.TreeEntry], after: Sequence[contract.TreeEntry]
) -> list[contract.TreeEntry]:
    """Return what was added, removed or modified (type, mode, size, time or link target) from
    ``before`` to ``after``, by path."""
    old = {entry.path: entry for entry in before if entry.path != "/"}
    new = {entry.path: entry for entry in after if entry.path != "/"}
    found = [dataclasses.replace(new[path], change="added") for path in new.keys() - old.keys()]
    found += [dataclasses.replace(old[path], change="removed") for path in old.keys() - new.keys()]
    found += [
        dataclasses.replace(new[path], change="modified")
        for path in old.keys() & new.keys()
        if new[path].type != "dir" and _compared(old[path]) != _compared(new[path])
    ]
    return sorted(found, key=lambda entry: entry.path)


def diff(browser: Browser, wanted: settings.Browsing) -> contract.OperationResult:
    """Print what changed from one snapshot to another (the newest when the other is unset)."""
    catalog = browser.catalog()
    first = chosen(catalog, wanted)
    second = chosen(catalog, settings.Browsing(snapshot=wanted.other_snapshot))
    found = changes(
        browser.tree(first, "/", recursive=True) or (),
        browser.tree(second, "/", recursive=True) or (),
    )
    counts = {kind: sum(entry.change == kind for entry in found) for kind in ("added", "removed")}
    message = (
        f"{_named(first)} to {_named(second)}: {counts['added']} added, {counts['removed']} "
        f"removed, {len(found) - sum(counts.values())} modified"
    )
    return printed(contract.Operation.DIFF, found, second, message)


BROWSING: dict[contract.Operation, Callable[[Browser, settings.Browsing], contract.OperationResult]]
BROWSING = {
    contract.Operation.LS: ls,
    contract.Operation.CAT: cat,
    contract.Operation.DOWNLOAD: download,
    contract.Operation.FIND: find,
    contract.Operation.DIFF: diff,
}
"""Each engine runs these with its own ``Browser``."""
