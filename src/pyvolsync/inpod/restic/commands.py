"""restic command lines, built by pure functions as tuples of arguments.

Nothing here runs anything or reads the environment, so every command the mover can issue is
visible in one file and tested by tuple equality. The runner adds the executable and the global
options (``--cacert``). Values from users (retention flags, snapshot IDs, paths) are single
arguments, never text for a shell to split.
"""

from __future__ import annotations

import re

from pyvolsync import contract
from pyvolsync.inpod.volume import LOST_AND_FOUND

_PATTERN_SPECIALS = re.compile(r"([*?\[\]\\])")


def version() -> tuple[str, ...]:
    """Return the command that prints restic's version."""
    return ("version",)


def init() -> tuple[str, ...]:
    """Return the command that creates the repository."""
    return ("init",)


def _literal_pattern(path: str) -> str:
    """Return ``path`` as a restic pattern that matches only itself."""
    return _PATTERN_SPECIALS.sub(r"\\\1", path)


def source_tag(source: str) -> str:
    """Return the snapshot tag of ReplicationSource ``source`` (``<namespace>/<name>``)."""
    return f"{contract.SOURCE_TAG_PREFIX}{source}"


def backup(*, data_dir: str, source: str = "", pinned: bool = False) -> tuple[str, ...]:
    """Return the backup of the working directory ``data_dir`` (run it with cwd=data_dir).

    Backing up ``.`` from inside the directory stores its contents at the snapshot's root and
    records ``data_dir`` as the path, exactly as upstream's script does. Only the top-level
    ``lost+found`` is left out (an absolute pattern is anchored). A ``source`` tags the snapshot
    with the ReplicationSource it was taken for; ``pinned`` adds the pin tag at once.
    """
    excluded = _literal_pattern(f"{data_dir.rstrip('/')}/{LOST_AND_FOUND}")
    tag = ("--tag", source_tag(source)) if source else ()
    pin = ("--tag", contract.PINNED) if pinned else ()
    return (
        "backup", "--host", contract.RESTIC_HOST, *tag, *pin, "--json", "--exclude", excluded, ".",
    )  # fmt: skip


def forget(retention: tuple[str, ...], *, source: str = "") -> tuple[str, ...]:
    """Return the forget command for the validated retention flags (see ``retention``).

    With a ``source``, only that source's snapshots and untagged ones (written by upstream or
    before tags) are considered, still as one group per host and path: another source writing
    to the same repository keeps its snapshots. A pinned snapshot (tag ``contract.PINNED``) is
    always kept.
    """
    tags = ("--tag", source_tag(source), "--tag", "") if source else ()
    return (
        "forget", "--host", contract.RESTIC_HOST, *tags, "--group-by", "host,paths", *retention,
        "--keep-tag", contract.PINNED,
    )  # fmt: skip


def pin(snapshot_id: str) -> tuple[str, ...]:
    """Return the command that pins one snapshot (restic writes it anew, under a new ID)."""
    return ("tag", "--add", contract.PINNED, snapshot_id)


def unpin(snapshot_id: str) -> tuple[str, ...]:
    """Return the command that removes one snapshot's pin (a new ID again)."""
    return ("tag", "--remove", contract.PINNED, snapshot_id)


def forget_snapshot(snapshot_id: str) -> tuple[str, ...]:
    """Return the command that forgets exactly one snapshot (its data stays until a prune)."""
    return ("forget", snapshot_id)


def unlock() -> tuple[str, ...]:
    """Return the command that removes stale locks (never ``--remove-all``)."""
    return ("unlock",)


def prune() -> tuple[str, ...]:
    """Return the command that removes data no snapshot references."""
    return ("prune",)


def check(*, read_data_subset: str | None) -> tuple[str, ...]:
    """Return the repository check, reading a subset of the packs when asked."""
    subset = ("--read-data-subset", read_data_subset) if read_data_subset else ()
    return ("check", "--json", *subset)


def snapshots() -> tuple[str, ...]:
    """Return the listing of the mover's snapshots as JSON (read-only, takes no lock).

    Its exit code also says whether the repository exists (10) or the password is wrong (12).
    """
    return ("snapshots", "--json", "--no-lock", "--host", contract.RESTIC_HOST)


def restore(snapshot_id: str, *, target: str, delete: bool) -> tuple[str, ...]:
    """Return the restore of a snapshot's contents into ``target``.

    The top-level ``lost+found`` of the target is left alone (``--delete`` would remove it).
    """
    return (
        "restore",
        snapshot_id,
        "--target",
        target,
        "--json",
        "--exclude",
        f"/{LOST_AND_FOUND}",
        "--include-xattr",
        "user.*",
        *(("--delete",) if delete else ()),
    )


def ls(snapshot_id: str, path: str, *, recursive: bool) -> tuple[str, ...]:
    """Return the JSON listing of ``path`` in a snapshot (itself and one level, or everything
    under it); read-only, no lock."""
    deep = ("--recursive",) if recursive else ()
    return ("ls", "--json", "--no-lock", *deep, snapshot_id, path)


def ls_long(snapshot_id: str, path: str) -> tuple[str, ...]:
    """Return the long text listing of ``path`` (the one place restic shows a link's target)."""
    return ("ls", "--long", "--no-lock", snapshot_id, path)


def dump(snapshot_id: str, path: str, *, archive: bool) -> tuple[str, ...]:
    """Return the command that writes a file's content (or a tar archive of ``path``) to stdout."""
    tar = ("--archive", "tar") if archive else ()
    return ("dump", "--no-lock", *tar, snapshot_id, path)
