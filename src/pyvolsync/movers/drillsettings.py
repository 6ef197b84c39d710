"""Restore drills: what a source asks for, read from its annotations (no I/O).

A backup nobody has restored is a hope. A drill restores the source's newest snapshot into a
scratch volume, verifies what came back against the snapshot's own record (the mover's
``verify`` operation: files, bytes, a sample of content hashes, the paths that must exist, a
minimum size), runs the user's own check if any (a command in an image of their choosing, with
the restored data at ``/data``), records the result and deletes the volume.

The settings are annotations on the ReplicationSource, like the anomaly guard's (docs/api.md,
"Where pyvolsync's own settings live"): upstream VolSync's CRDs would refuse an unknown spec
field, while an annotation is carried, and ignored, by any cluster. No schedule and no
``drill-now`` means no drill. A malformed setting is a problem the operator reports; it never
touches the source's backups.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from collections.abc import Mapping
from typing import Any

from pyvolsync import contract
from pyvolsync.api import durations, validation
from pyvolsync.kube import quantities

PREFIX = "pyvolsync.dev/drill-"
SCHEDULE_ANNOTATION = f"{PREFIX}schedule"
NOW_ANNOTATION = f"{PREFIX}now"
PATHS_ANNOTATION = f"{PREFIX}paths"
MIN_SIZE_ANNOTATION = f"{PREFIX}min-size"
IMAGE_ANNOTATION = f"{PREFIX}image"
COMMAND_ANNOTATION = f"{PREFIX}command"
TIMEOUT_ANNOTATION = f"{PREFIX}timeout"
DEFAULT_TIMEOUT = datetime.timedelta(hours=6)
"""A drill (restore, verification and check) still running after this is stopped and fails."""
LONGEST_TIMEOUT = datetime.timedelta(days=2)
KNOWN = {
    TIMEOUT_ANNOTATION,
    SCHEDULE_ANNOTATION,
    NOW_ANNOTATION,
    PATHS_ANNOTATION,
    MIN_SIZE_ANNOTATION,
    IMAGE_ANNOTATION,
    COMMAND_ANNOTATION,
}
DRILL_PREFIX = "volsync-drill-"
"""The drill's Job and scratch PVC are ``volsync-drill-<source name>``."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """The drill a source asks for; ``problem`` says what was wrong with the ask."""

    schedule: str = ""
    now: str = ""
    """The ``drill-now`` value: a drill runs once for each new value (like ``trigger.manual``)."""
    paths: tuple[str, ...] = ()
    min_bytes: int = 0
    image: str = ""
    command: str = ""
    timeout: datetime.timedelta = DEFAULT_TIMEOUT
    problem: str = ""

    @property
    def wanted(self) -> bool:
        """Return True when the source asks for drills at all."""
        return bool(self.schedule or self.now)

    def environment(self) -> dict[str, str]:
        """Return what the mover's ``verify`` needs besides the usual environment."""
        found: dict[str, str] = {}
        if self.paths:
            found[contract.EnvVar.PATHS] = json.dumps([f"/{path}" for path in self.paths])
        if self.min_bytes:
            found[contract.EnvVar.VERIFY_MIN_BYTES] = str(self.min_bytes)
        return found


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def settings_of(obj: Mapping[str, Any]) -> Settings:
    """Return the drill ``obj`` asks for; a malformed annotation leaves the drill off and says
    why in ``problem`` (naming the annotation)."""
    found = _annotations(obj)
    unknown = sorted(key for key in found if key.startswith(PREFIX) and key not in KNOWN)
    schedule = found.get(SCHEDULE_ANNOTATION, "").strip()
    known = ", ".join(sorted(KNOWN))
    problems = [f"{key}: not a drill setting (known: {known})" for key in unknown]
    if schedule and (wrong := validation.schedule_problem(schedule)):
        problems.append(f"{SCHEDULE_ANNOTATION}: {wrong}")
    min_bytes, size_problem = _min_bytes(found.get(MIN_SIZE_ANNOTATION, ""))
    problems += [size_problem] if size_problem else []
    image, command = found.get(IMAGE_ANNOTATION, "").strip(), found.get(COMMAND_ANNOTATION, "")
    if bool(image) != bool(command.strip()):
        problems.append(f"{IMAGE_ANNOTATION} and {COMMAND_ANNOTATION} go together: give both")
    paths, path_problem = _paths(found.get(PATHS_ANNOTATION, ""))
    problems += [path_problem] if path_problem else []
    timeout, timeout_problem = _timeout(found.get(TIMEOUT_ANNOTATION, ""))
    problems += [timeout_problem] if timeout_problem else []
    if problems:
        return Settings(problem="; ".join(problems))
    return Settings(
        schedule=schedule,
        now=found.get(NOW_ANNOTATION, "").strip(),
        paths=paths,
        min_bytes=min_bytes,
        image=image,
        command=command.strip(),
        timeout=timeout,
    )


def _timeout(text: str) -> tuple[datetime.timedelta, str]:
    if not text.strip():
        return DEFAULT_TIMEOUT, ""
    try:
        parsed = durations.parse_duration(text.strip())
    except ValueError:
        parsed = datetime.timedelta(0)
    if not datetime.timedelta(minutes=1) <= parsed <= LONGEST_TIMEOUT:
        return DEFAULT_TIMEOUT, (
            f"{TIMEOUT_ANNOTATION}: {text!r} is not a duration between 1m and 48h such as 2h"
        )
    return parsed, ""


def _min_bytes(text: str) -> tuple[int, str]:
    if not text.strip():
        return 0, ""
    try:
        parsed = quantities.to_bytes(text.strip())
    except ValueError:
        parsed = -1
    if parsed < 0:
        return 0, f"{MIN_SIZE_ANNOTATION}: {text!r} is not a size such as 500Mi or 2Gi"
    return parsed, ""


def _paths(text: str) -> tuple[tuple[str, ...], str]:
    """Return the paths (comma-separated, relative to the volume's root) and a problem."""
    paths = tuple(item.strip().strip("/") for item in text.split(",") if item.strip())
    wrong = [item for item in paths if ".." in re.split(r"/+", item) or not item]
    if wrong:
        return (), f"{PATHS_ANNOTATION}: {', '.join(wrong)} leave the volume"
    return paths, ""


def drill_name(source_name: str) -> str:
    """Return the name of the drill's Job and scratch PVC (a Job name has 63 characters)."""
    return f"{DRILL_PREFIX}{source_name}"[:63].rstrip("-")
