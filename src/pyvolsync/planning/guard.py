"""The anomaly guard's settings and state, read from a ReplicationSource (pure).

The guard is on for every source, with ``contract.Guard``'s thresholds, so a volume wiped by its
own app is protected without anyone having asked. A source tunes or turns it off with one
annotation, ``GUARD_ANNOTATION`` (``files-drop=30%,deleted=80%`` or ``off``), and a person
acknowledges a suspicious backup with ``ACKNOWLEDGED_ANNOTATION`` (``pyvolsync ack`` writes it).
Annotations rather than spec fields: upstream VolSync's CRDs would refuse an unknown field when
the manifest is applied, while an annotation is carried (and ignored) by any cluster.

The state is ``status.anomaly``: while it is set, the source's retention is held (its Jobs get
``PYVOLSYNC_RETENTION_HELD`` and no prune), and an acknowledgement naming its snapshot clears it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from pyvolsync import contract
from pyvolsync.api import source

GUARD_ANNOTATION = "pyvolsync.dev/anomaly-guard"
ACKNOWLEDGED_ANNOTATION = "pyvolsync.dev/anomaly-acknowledged"
OFF = "off"


@dataclasses.dataclass(frozen=True, kw_only=True)
class GuardSetting:
    """The guard a source asks for: thresholds (None: off) and what was wrong with the ask."""

    guard: contract.Guard | None
    problem: str = ""


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def setting(obj: Mapping[str, Any]) -> GuardSetting:
    """Return the guard ``obj`` asks for; a malformed annotation keeps the default thresholds
    (backups go on, guarded) and says what is wrong."""
    text = str(_annotations(obj).get(GUARD_ANNOTATION, "")).strip()
    if text.lower() == OFF:
        return GuardSetting(guard=None)
    try:
        return GuardSetting(guard=contract.Guard.from_text(text))
    except ValueError as error:
        problem = (
            f"annotation {GUARD_ANNOTATION}={text!r}: {error}; write thresholds such as "
            f"'files-drop=50%,bytes-drop=50%,deleted=50%' or '{OFF}'. The default thresholds "
            "apply until it is fixed"
        )
        return GuardSetting(guard=contract.Guard(), problem=problem)


def held(status: source.ReplicationSourceStatus | None) -> str:
    """Return why retention is held for a source with ``status`` ("" when it is not)."""
    anomaly = status.anomaly if status is not None else None
    if anomaly is None:
        return ""
    return (
        f"snapshot {(anomaly.snapshot_id or '')[:8]} is suspicious ({anomaly.reason}) and "
        f"nobody has acknowledged it yet; acknowledge with `pyvolsync ack`"
    )


def environment(
    obj: Mapping[str, Any], status: source.ReplicationSourceStatus
) -> tuple[tuple[str, str], ...]:
    """Return the guard's variables of a new backup Job of the source ``obj`` whose status is
    now ``status``."""
    chosen = setting(obj).guard
    env = [(contract.EnvVar.GUARD, chosen.to_text())] if chosen is not None else []
    reason = held(status)
    if reason:
        env.append((contract.EnvVar.RETENTION_HELD, reason))
    return tuple(env)


def acknowledged(obj: Mapping[str, Any], anomaly: source.Anomaly) -> bool:
    """Return True when ``obj``'s acknowledgement names ``anomaly``'s snapshot (its ID, or a
    prefix of it of at least ``contract.SNAPSHOT_ID_MINIMUM`` characters)."""
    given = str(_annotations(obj).get(ACKNOWLEDGED_ANNOTATION, "")).strip()
    wanted = anomaly.snapshot_id or ""
    return len(given) >= contract.SNAPSHOT_ID_MINIMUM and wanted.startswith(given)


def acknowledgement(snapshot_id: str) -> dict[str, Any]:
    """Return the merge patch by which a person acknowledges the suspicious ``snapshot_id``
    (``pyvolsync ack`` and the console's button)."""
    return {"metadata": {"annotations": {ACKNOWLEDGED_ANNOTATION: snapshot_id}}}
