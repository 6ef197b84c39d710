"""Fault injection knobs, so later tests can make the infrastructure misbehave on purpose.

All knobs are annotations (prefix ``localcluster.pyvolsync.dev/``), because tests already talk to
the API and annotations can be added by a MutatingAdmissionPolicy to objects the operator
creates:

- ``snapshot-fault: fail`` or ``snapshot-fault: delay=<seconds>`` on a VolumeSnapshot, on its
  VolumeSnapshotClass, or on its Namespace (applies to every snapshot in it): the snapshot gets
  ``status.error`` and never becomes ready, or becomes ready only after the delay.
- ``volume-fault: readonly`` or ``volume-fault: full[=<quantity>]`` on a PVC, or
  ``volume-fault.<volume name>: ...`` on a Pod (any volume type, e.g. the injected ``nfs``
  repository): every container sees the volume read-only, or sees its data but can write only
  ``<quantity>`` (default 64Ki) more bytes, and those writes are discarded when it exits.
- ``kill-container: <name>[,<name>...]`` on a Pod: the agent sends SIGKILL to those running
  containers (exit code 137, restarted per restartPolicy) and removes the annotation.
"""

from __future__ import annotations

import dataclasses
import re

from localcluster.nodeagent import quantity

PREFIX = "localcluster.pyvolsync.dev/"
SNAPSHOT_FAULT = PREFIX + "snapshot-fault"
VOLUME_FAULT = PREFIX + "volume-fault"
KILL_CONTAINER = PREFIX + "kill-container"
DEFAULT_FULL_BYTES = 64 * 1024


@dataclasses.dataclass(frozen=True)
class SnapshotFault:
    fail: bool = False
    delay_seconds: float = 0.0


@dataclasses.dataclass(frozen=True)
class VolumeFault:
    read_only: bool = False
    full_bytes: int | None = None


def parse_snapshot_fault(value: str | None) -> SnapshotFault:
    if not value:
        return SnapshotFault()
    text = value.strip()
    if text == "fail":
        return SnapshotFault(fail=True)
    match = re.fullmatch(r"delay=([0-9.]+)s?", text)
    if match:
        return SnapshotFault(delay_seconds=float(match.group(1)))
    raise ValueError(f"{SNAPSHOT_FAULT}: expected 'fail' or 'delay=<seconds>', got {value!r}")


def parse_volume_fault(value: str | None) -> VolumeFault:
    if not value:
        return VolumeFault()
    text = value.strip()
    if text == "readonly":
        return VolumeFault(read_only=True)
    if text == "full":
        return VolumeFault(full_bytes=DEFAULT_FULL_BYTES)
    if text.startswith("full="):
        return VolumeFault(full_bytes=max(4096, quantity.to_bytes(text[len("full=") :])))
    raise ValueError(f"{VOLUME_FAULT}: expected 'readonly', 'full' or 'full=<size>', got {value!r}")


def pod_volume_fault_key(volume_name: str) -> str:
    return f"{VOLUME_FAULT}.{volume_name}"


def containers_to_kill(value: str | None) -> set[str]:
    return {name.strip() for name in (value or "").split(",") if name.strip()}
