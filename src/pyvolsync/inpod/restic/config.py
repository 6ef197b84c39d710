"""The mover's settings, read once from the environment and validated before restic runs.

Upstream's variable names and meanings are kept (``contract.EnvVar``); a missing or malformed
value is a ConfigurationError that names the variable, so a Job fails before it touches the
repository rather than half-way through. pyvolsync's own knobs (progress interval, probe timeout,
termination grace) have defaults that suit a pod.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import re
from collections.abc import Mapping

from pyvolsync import contract
from pyvolsync.inpod import errors, guard, settings, times
from pyvolsync.inpod.restic import retention

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class MoverConfig:
    """Everything the operations need to know, already validated."""

    data_dir: str
    custom_ca: str | None = None
    forget_flags: tuple[str, ...] = ()
    restore_as_of: datetime.datetime | None = None
    select_previous: int = 0
    restore_delete: bool = False
    check_read_data_subset: str | None = None
    source: str = ""
    """``<namespace>/<name>`` of the ReplicationSource (``PYVOLSYNC_SOURCE``), or "" if unset."""
    browsing: settings.Browsing = dataclasses.field(default_factory=settings.Browsing)
    """The snapshot ``pin``, ``unpin`` and ``forget`` act on, and what browsing reads."""
    guard: contract.Guard | None = None
    """The anomaly guard's thresholds (``PYVOLSYNC_GUARD``); None: every backup is trusted."""
    retention_held: str = ""
    """Why retention is held (``PYVOLSYNC_RETENTION_HELD``): the backup forgets nothing."""
    progress_interval: float = 10.0
    probe_timeout: float = 60.0
    lock_wait: float = 120.0
    termination_grace: float = 20.0


def _variable(environ: Mapping[str, str], name: contract.EnvVar) -> str:
    return environ.get(name, "").strip()


def _check_mandatory(environ: Mapping[str, str]) -> None:
    for name in contract.MANDATORY_ENV:
        if not environ.get(name):
            raise errors.ConfigurationError(f"{name} must be set (and not empty)")
    if contract.EnvVar.PRIVILEGED_MOVER not in environ:
        logger.warning(
            "%s is not set; upstream requires it, pyvolsync does not use it", "PRIVILEGED_MOVER"
        )


def _restore_as_of(environ: Mapping[str, str]) -> datetime.datetime | None:
    text = _variable(environ, contract.EnvVar.RESTORE_AS_OF)
    if not text:
        return None
    try:
        return times.parse_rfc3339(text)
    except ValueError as error:
        raise errors.ConfigurationError(f"{contract.EnvVar.RESTORE_AS_OF}: {error}") from None


def _select_previous(environ: Mapping[str, str]) -> int:
    text = _variable(environ, contract.EnvVar.SELECT_PREVIOUS)
    if not text:
        return 0
    if not text.isdigit():
        raise errors.ConfigurationError(
            f"{contract.EnvVar.SELECT_PREVIOUS}={text!r} must be a whole number >= 0"
        )
    return int(text)


def _restore_delete(environ: Mapping[str, str]) -> bool:
    tokens = _variable(environ, contract.EnvVar.RESTORE_OPTIONS).split()
    for token in tokens:
        if token != "--delete":
            raise errors.ConfigurationError(
                f"{contract.EnvVar.RESTORE_OPTIONS}: {token!r} is not accepted; the only "
                "restore option is --delete"
            )
    return bool(tokens)


def _check_subset(environ: Mapping[str, str]) -> str | None:
    text = _variable(environ, contract.EnvVar.CHECK_READ_DATA_SUBSET)
    if not text:
        return None
    if not contract.valid_read_data_subset(text):
        raise errors.ConfigurationError(
            f"{contract.EnvVar.CHECK_READ_DATA_SUBSET}={text!r} must be "
            f"{contract.READ_DATA_SUBSET_FORMS}"
        )
    return text


_SOURCE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-.a-z0-9]*[a-z0-9])?")


def _source(environ: Mapping[str, str]) -> str:
    text = _variable(environ, contract.EnvVar.SOURCE)
    if text and not _SOURCE.fullmatch(text):
        raise errors.ConfigurationError(
            f"{contract.EnvVar.SOURCE}={text!r} must be <namespace>/<name> of a ReplicationSource"
        )
    return text


def from_environ(environ: Mapping[str, str]) -> MoverConfig:
    """Return the validated configuration; raise ConfigurationError naming the bad variable."""
    _check_mandatory(environ)
    return MoverConfig(
        data_dir=settings.absolute_directory(environ, contract.EnvVar.DATA_DIR),
        custom_ca=settings.custom_ca(environ),
        forget_flags=retention.parse_forget_options(
            _variable(environ, contract.EnvVar.FORGET_OPTIONS)
        ),
        restore_as_of=_restore_as_of(environ),
        select_previous=_select_previous(environ),
        restore_delete=_restore_delete(environ),
        check_read_data_subset=_check_subset(environ),
        source=_source(environ),
        browsing=settings.browsing(environ),
        guard=guard.from_environ(environ),
        retention_held=_variable(environ, contract.EnvVar.RETENTION_HELD),
        **dataclasses.asdict(settings.timing(environ)),
    )
