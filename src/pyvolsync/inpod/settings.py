"""Reading the settings every engine shares from the environment, each bad value named.

``DATA_DIR``, ``CUSTOM_CA`` and pyvolsync's knobs (progress interval, probe timeout, termination
grace) mean the same for restic and kopia; each engine's ``config`` reads them through here and
adds its own variables.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from collections.abc import Mapping

from pyvolsync import contract
from pyvolsync.inpod import errors, times


def text(environ: Mapping[str, str], name: str) -> str:
    """Return the variable's value without surrounding blanks ("" when unset)."""
    return environ.get(name, "").strip()


def absolute_directory(environ: Mapping[str, str], name: str) -> str:
    """Return the variable as the normalised absolute path of an existing directory."""
    path = os.path.normpath(text(environ, name))
    if not os.path.isabs(path) or not os.path.isdir(path):
        raise errors.ConfigurationError(f"{name}={path!r} must be the absolute path of a directory")
    return path


def custom_ca(environ: Mapping[str, str]) -> str | None:
    """Return ``CUSTOM_CA``, the path of a CA bundle file, or None."""
    path = text(environ, contract.EnvVar.CUSTOM_CA)
    if path and not os.path.isfile(path):
        raise errors.ConfigurationError(
            f"{contract.EnvVar.CUSTOM_CA}={path!r} is not a file: mount the CA bundle there"
        )
    return path or None


def seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    """Return the variable as a number of seconds >= 0, or ``default`` when unset."""
    value_text = text(environ, name)
    if not value_text:
        return default
    try:
        value = float(value_text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise errors.ConfigurationError(f"{name}={value_text!r} must be a number of seconds >= 0")
    return value


@dataclasses.dataclass(frozen=True, kw_only=True)
class Timing:
    """pyvolsync's knobs: how often progress is printed, how long a probe and a stop may take."""

    progress_interval: float = 10.0
    probe_timeout: float = 60.0
    termination_grace: float = 20.0
    lock_wait: float = 120.0
    """How long a restic command waits for a lock a running restic holds (0: not at all)."""


def timing(environ: Mapping[str, str]) -> Timing:
    """Return the ``PYVOLSYNC_*`` timing knobs, validated."""
    return Timing(
        progress_interval=seconds(environ, contract.EnvVar.PROGRESS_INTERVAL, 10.0),
        probe_timeout=seconds(environ, contract.EnvVar.PROBE_TIMEOUT, 60.0),
        termination_grace=seconds(environ, contract.EnvVar.TERMINATION_GRACE, 20.0),
        lock_wait=seconds(environ, contract.EnvVar.LOCK_WAIT, 120.0),
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Browsing:
    """What the browsing operations (``ls``, ``cat``, ``download``, ``find``, ``diff``), the
    path restores (``restore-paths``, ``remove-paths``) and ``verify`` read, and whether a
    backup is pinned."""

    snapshot: str = ""
    as_of: datetime.datetime | None = None
    paths: tuple[str, ...] = ()
    """Normalised: absolute inside the snapshot, no ``..``, no trailing slash (but ``/``)."""
    pattern: str = ""
    other_snapshot: str = ""
    pin_backup: bool = False
    absent_removed: bool = False
    from_folder: str = ""
    dry_run: bool = False
    verify_sample: int = 20
    """``verify``: how many restored files have their content compared (0: none)."""
    verify_min_bytes: int = 0
    """``verify``: the least bytes the restored files must hold."""


def snapshot_path(text: str) -> str:
    """Return a path inside a snapshot as ``/a/b``; raise ConfigurationError for ``..``."""
    try:
        return contract.snapshot_path(text)
    except ValueError as error:
        raise errors.ConfigurationError(f"{contract.EnvVar.PATHS}: {error}") from None


def _paths(environ: Mapping[str, str]) -> tuple[str, ...]:
    raw = text(environ, contract.EnvVar.PATHS)
    if not raw:
        return ()
    try:
        paths = json.loads(raw)
    except ValueError:
        paths = None
    if not isinstance(paths, list) or not all(isinstance(item, str) for item in paths):
        raise errors.ConfigurationError(
            f'{contract.EnvVar.PATHS} must be a JSON list of paths, such as ["/config/app.ini"]'
        )
    return tuple(snapshot_path(item) for item in paths)


def browsing(environ: Mapping[str, str]) -> Browsing:
    """Return the browsing settings, validated."""
    as_of_text = text(environ, contract.EnvVar.AS_OF)
    try:
        as_of = times.parse_rfc3339(as_of_text) if as_of_text else None
    except ValueError as error:
        raise errors.ConfigurationError(f"{contract.EnvVar.AS_OF}: {error}") from None
    return Browsing(
        snapshot=text(environ, contract.EnvVar.SNAPSHOT),
        as_of=as_of,
        paths=_paths(environ),
        pattern=text(environ, contract.EnvVar.PATTERN),
        other_snapshot=text(environ, contract.EnvVar.OTHER_SNAPSHOT),
        pin_backup=switch(environ, contract.EnvVar.PIN_BACKUP),
        absent_removed=switch(environ, contract.EnvVar.ABSENT_REMOVED),
        from_folder=_folder(environ),
        dry_run=switch(environ, contract.EnvVar.DRY_RUN),
        verify_sample=whole_number(environ, contract.EnvVar.VERIFY_SAMPLE, 20),
        verify_min_bytes=whole_number(environ, contract.EnvVar.VERIFY_MIN_BYTES, 0),
    )


def _folder(environ: Mapping[str, str]) -> str:
    if not text(environ, contract.EnvVar.FROM_FOLDER):
        return ""
    return absolute_directory(environ, contract.EnvVar.FROM_FOLDER)


def switch(environ: Mapping[str, str], name: str) -> bool:
    """Return the variable as a yes/no switch (``true``/``1`` or ``false``/``0``; unset is
    false)."""
    value = text(environ, name).lower()
    if value not in ("", "true", "false", "1", "0"):
        raise errors.ConfigurationError(f"{name}={value!r} must be true or false")
    return value in ("true", "1")


def whole_number(environ: Mapping[str, str], name: str, default: int) -> int:
    """Return the variable as a whole number >= 0, or ``default`` when unset."""
    value = text(environ, name)
    if not value:
        return default
    if not (value.isascii() and value.isdigit()):
        raise errors.ConfigurationError(f"{name}={value!r} must be a whole number >= 0")
    return int(value)
