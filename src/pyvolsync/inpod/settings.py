"""Reading the settings every engine shares from the environment, each bad value named.

``DATA_DIR``, ``CUSTOM_CA`` and pyvolsync's knobs (progress interval, probe timeout, termination
grace) mean the same for restic and kopia; each engine's ``config`` reads them through here and
adds its own variables.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

from pyvolsync import contract
from pyvolsync.inpod import errors


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


def timing(environ: Mapping[str, str]) -> Timing:
    """Return the ``PYVOLSYNC_*`` timing knobs, validated."""
    return Timing(
        progress_interval=seconds(environ, contract.EnvVar.PROGRESS_INTERVAL, 10.0),
        probe_timeout=seconds(environ, contract.EnvVar.PROBE_TIMEOUT, 60.0),
        termination_grace=seconds(environ, contract.EnvVar.TERMINATION_GRACE, 20.0),
    )
