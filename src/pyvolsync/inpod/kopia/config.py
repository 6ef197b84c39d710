"""The kopia engine's settings, read once from the fork's environment contract and validated.

A missing or malformed value is a ConfigurationError that names the variable, so a Job fails
before it touches the repository. Unlike the fork, the identity is mandatory: kopia's default
(the pod's user and host name) would change with every pod and lose the snapshot history.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import re
from collections.abc import Mapping

from pyvolsync import contract
from pyvolsync.inpod import errors, guard, settings, times

Var = contract.KopiaEnvVar
FORK_ARGUMENT_SEPARATOR = "|VOLSYNC_ARG_SEP|"
MAXIMUM_ADDITIONAL_ARGUMENTS = 20
_IDENTITY = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9._-]*[a-zA-Z0-9])?")
_COMPRESSION = re.compile(r"[a-z0-9][a-z0-9-]*")
RETAIN_FLAGS = {
    Var.RETAIN_LATEST: "--keep-latest",
    Var.RETAIN_HOURLY: "--keep-hourly",
    Var.RETAIN_DAILY: "--keep-daily",
    Var.RETAIN_WEEKLY: "--keep-weekly",
    Var.RETAIN_MONTHLY: "--keep-monthly",
    Var.RETAIN_YEARLY: "--keep-annual",
}
"""Each ``KOPIA_RETAIN_*`` and the ``kopia policy set`` flag it becomes."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Identity:
    """Who kopia says took a snapshot: ``username@hostname``."""

    username: str
    hostname: str

    def __str__(self) -> str:
        return f"{self.username}@{self.hostname}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class KopiaConfig:
    """Everything the kopia operations need to know, already validated."""

    data_dir: str
    source_path: str
    """The path snapshots record: ``KOPIA_SOURCE_PATH_OVERRIDE``, else ``DATA_DIR``."""
    identity: Identity
    maintenance_identity: Identity
    cache_dir: str
    custom_ca: str | None = None
    browsing: settings.Browsing = dataclasses.field(default_factory=settings.Browsing)
    """The snapshot ``pin``, ``unpin`` and ``forget`` act on, and what browsing reads."""
    compression: str = ""
    parallelism: int | None = None
    retention: tuple[str, ...] = ()
    guard: contract.Guard | None = None
    """The anomaly guard's thresholds (``PYVOLSYNC_GUARD``); None: every backup is trusted."""
    retention_held: str = ""
    """Why the operator holds retention (``PYVOLSYNC_RETENTION_HELD``); "" when it does not."""
    restore_as_of: datetime.datetime | None = None
    previous: int = 0
    shallow: int | None = None
    delete_extra: bool = False
    before_snapshot: str = ""
    after_snapshot: str = ""
    metadata_cache_limit_mb: int | None = None
    content_cache_limit_mb: int | None = None
    additional_arguments: tuple[str, ...] = ()
    maintenance_takeover: bool = False
    maintenance_takeover_from: tuple[str, ...] = ()
    maintenance_owner: str = ""
    progress_interval: float = 10.0
    probe_timeout: float = 60.0
    lock_wait: float = 120.0
    """Shared with restic (``settings.Timing``); kopia waits for its own locks."""
    termination_grace: float = 20.0

    @property
    def target(self) -> str:
        """Return the snapshot source as kopia names it: ``user@host:/path``."""
        return f"{self.identity}:{self.source_path}"


_text = settings.text


def _whole_number(
    environ: Mapping[str, str], name: str, *, minimum: int = 0, default: int | None = None
) -> int | None:
    text = _text(environ, name)
    if not text:
        return default
    if not text.isdigit() or int(text) < minimum:
        raise errors.ConfigurationError(f"{name}={text!r} must be a whole number >= {minimum}")
    return int(text)


def _source_path(environ: Mapping[str, str], data_dir: str) -> str:
    text = _text(environ, Var.SOURCE_PATH_OVERRIDE)
    if not text:
        return data_dir
    if not text.startswith("/") or ".." in text.split("/"):
        raise errors.ConfigurationError(
            f"{Var.SOURCE_PATH_OVERRIDE}={text!r} must be an absolute path without '..'"
        )
    return os.path.normpath(text)


def _name(environ: Mapping[str, str], name: str, *, fallback: str = "") -> str:
    text = _text(environ, name) or _text(environ, fallback)
    if not _IDENTITY.fullmatch(text):
        raise errors.ConfigurationError(
            f"{name}={text!r} must be set: letters, digits, '.', '_' and '-', starting and ending "
            "with a letter or digit (the snapshot identity; kopia's default would be the pod's)"
        )
    return text


def _identity(environ: Mapping[str, str]) -> Identity:
    return Identity(
        username=_name(environ, Var.OVERRIDE_USERNAME),
        hostname=_name(environ, Var.OVERRIDE_HOSTNAME),
    )


def _maintenance_identity(environ: Mapping[str, str]) -> Identity:
    return Identity(
        username=_name(environ, Var.OVERRIDE_MAINTENANCE_USERNAME, fallback=Var.OVERRIDE_USERNAME),
        hostname=_name(environ, Var.OVERRIDE_MAINTENANCE_HOSTNAME, fallback=Var.OVERRIDE_HOSTNAME),
    )


def _retention(environ: Mapping[str, str]) -> tuple[str, ...]:
    flags: list[str] = []
    for name, flag in RETAIN_FLAGS.items():
        count = _whole_number(environ, name)
        if count is not None:
            flags.append(f"{flag}={count}")
    return tuple(flags)


def _compression(environ: Mapping[str, str]) -> str:
    text = _text(environ, Var.COMPRESSION)
    if text and not _COMPRESSION.fullmatch(text):
        raise errors.ConfigurationError(
            f"{Var.COMPRESSION}={text!r} must be a kopia compressor name such as zstd or s2-default"
        )
    return text


def _restore_as_of(environ: Mapping[str, str]) -> datetime.datetime | None:
    text = _text(environ, Var.RESTORE_AS_OF)
    if not text:
        return None
    try:
        return times.parse_rfc3339(text)
    except ValueError as error:
        raise errors.ConfigurationError(f"{Var.RESTORE_AS_OF}: {error}") from None


def parse_additional_arguments(text: str) -> tuple[str, ...]:
    """Return the extra ``snapshot create`` arguments of ``KOPIA_ADDITIONAL_ARGS``.

    A JSON list of strings, or the fork's text joined with ``|VOLSYNC_ARG_SEP|`` (split on that
    whole separator, never on its characters). Each element stays one argument.
    """
    if not text.strip():
        return ()
    if text.lstrip().startswith("["):
        try:
            document = json.loads(text)
        except ValueError as error:
            raise errors.ConfigurationError(f"{Var.ADDITIONAL_ARGS}: not JSON: {error}") from None
        if not isinstance(document, list) or not all(isinstance(item, str) for item in document):
            raise errors.ConfigurationError(f"{Var.ADDITIONAL_ARGS} must be a list of strings")
        arguments = tuple(document)
    else:
        arguments = tuple(item for item in text.split(FORK_ARGUMENT_SEPARATOR) if item)
    if len(arguments) > MAXIMUM_ADDITIONAL_ARGUMENTS:
        raise errors.ConfigurationError(
            f"{Var.ADDITIONAL_ARGS} holds {len(arguments)} arguments; at most "
            f"{MAXIMUM_ADDITIONAL_ARGUMENTS} are accepted"
        )
    return arguments


def _owner_identity(name: str, text: str) -> str:
    """Return ``text`` if it is ``user@host``; raise ConfigurationError naming ``name``."""
    username, at, hostname = text.partition("@")
    if not (at and _IDENTITY.fullmatch(username) and _IDENTITY.fullmatch(hostname)):
        raise errors.ConfigurationError(f"{name}={text!r} must be user@host")
    return text


def _maintenance_owner(environ: Mapping[str, str]) -> str:
    text = _text(environ, Var.MAINTENANCE_OWNER)
    return _owner_identity(Var.MAINTENANCE_OWNER, text) if text else ""


def _takeover_from(environ: Mapping[str, str]) -> tuple[str, ...]:
    items = [item.strip() for item in _text(environ, Var.MAINTENANCE_TAKEOVER_FROM).split(",")]
    return tuple(_owner_identity(Var.MAINTENANCE_TAKEOVER_FROM, item) for item in items if item)


def _check_mandatory(environ: Mapping[str, str]) -> None:
    for name in contract.KOPIA_MANDATORY_ENV:
        if not _text(environ, name):
            raise errors.ConfigurationError(f"{name} must be set (and not empty)")


def from_environ(environ: Mapping[str, str]) -> KopiaConfig:
    """Return the validated configuration; raise ConfigurationError naming the bad variable."""
    _check_mandatory(environ)
    data_dir = settings.absolute_directory(environ, contract.EnvVar.DATA_DIR)
    return KopiaConfig(
        data_dir=data_dir,
        source_path=_source_path(environ, data_dir),
        identity=_identity(environ),
        maintenance_identity=_maintenance_identity(environ),
        cache_dir=os.path.normpath(_text(environ, Var.CACHE_DIR)),
        custom_ca=settings.custom_ca(environ),
        compression=_compression(environ),
        parallelism=_whole_number(environ, Var.PARALLELISM, minimum=1),
        retention=_retention(environ),
        guard=guard.from_environ(environ),
        retention_held=_text(environ, contract.EnvVar.RETENTION_HELD),
        restore_as_of=_restore_as_of(environ),
        previous=_whole_number(environ, Var.PREVIOUS, default=0) or 0,
        shallow=_whole_number(environ, Var.SHALLOW, minimum=1),
        delete_extra=settings.switch(environ, Var.ENABLE_FILE_DELETION),
        before_snapshot=_text(environ, Var.BEFORE_SNAPSHOT),
        after_snapshot=_text(environ, Var.AFTER_SNAPSHOT),
        metadata_cache_limit_mb=_whole_number(environ, Var.METADATA_CACHE_SIZE_LIMIT_MB),
        content_cache_limit_mb=_whole_number(environ, Var.CONTENT_CACHE_SIZE_LIMIT_MB),
        additional_arguments=parse_additional_arguments(_text(environ, Var.ADDITIONAL_ARGS)),
        maintenance_takeover=settings.switch(environ, Var.MAINTENANCE_TAKEOVER),
        maintenance_takeover_from=_takeover_from(environ),
        maintenance_owner=_maintenance_owner(environ),
        browsing=settings.browsing(environ),
        **dataclasses.asdict(settings.timing(environ)),
    )
