"""The rules a spec must follow that the CRD schema does not check, with every problem reported.

The CRD schema stays exactly as permissive as upstream's, so every manifest written for upstream
VolSync is accepted on apply. What it lets through but cannot work (a cron expression the
scheduler rejects, a negative retention count, a missing copy method, a mover pyvolsync does not
run) is found here instead; the operator reports the problems as an Error condition, the CLI
prints them. Each `Problem` names the field and says what to do, and a validation run collects
all of them rather than stopping at the first.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Iterator, Mapping
from typing import Any

import croniter
import pydantic

from pyvolsync.api import common, destination, source

# The @-descriptors the scheduler understands (those of upstream's cron library minus @every).
DESCRIPTORS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
CRON_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
# restic's --keep-within duration: one or more <number><unit>, units y, m, d, h.
RESTIC_DURATION = re.compile(r"(\d+[ymdh])+")
RESTIC_COUNT = re.compile(r"\d+|unlimited")
# RFC 3339 allows a lower-case "t" and "z", and the API server accepts them.
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
SOURCE_COPY_METHODS = ("Direct", "None", "Clone", "Snapshot")
DESTINATION_COPY_METHODS = ("Direct", "None", "Snapshot")
RETENTION_COUNTS = ("hourly", "daily", "weekly", "monthly", "yearly")


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with an object: the field's path (e.g. spec.restic.retain) and what to do."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"At '{self.path}': {self.message}"


def validate_source(obj: Mapping[str, Any] | source.ReplicationSource) -> list[Problem]:
    """Return every problem with a ReplicationSource (a parsed model or a raw manifest dict)."""
    if isinstance(obj, Mapping):
        try:
            obj = source.ReplicationSource.model_validate(obj)
        except pydantic.ValidationError as error:
            return parse_problems(error)
    if obj.spec is None:
        return [Problem("spec", "the spec is missing; set spec.sourcePVC and spec.restic")]
    return list(_source_problems(obj.spec))


def validate_destination(
    obj: Mapping[str, Any] | destination.ReplicationDestination,
) -> list[Problem]:
    """Return every problem with a ReplicationDestination (a parsed model or a raw dict)."""
    if isinstance(obj, Mapping):
        try:
            obj = destination.ReplicationDestination.model_validate(obj)
        except pydantic.ValidationError as error:
            return parse_problems(error)
    if obj.spec is None:
        return [Problem("spec", "the spec is missing; set spec.restic")]
    return list(_destination_problems(obj.spec))


def parse_problems(error: pydantic.ValidationError) -> list[Problem]:
    """Return one Problem per error of a failed parse, located by wire field path."""
    return [Problem(_wire_path(detail["loc"]), detail["msg"]) for detail in error.errors()]


def schedule_problem(expression: str) -> str | None:
    """Return what is wrong with a cron schedule, or None when the scheduler can run it.

    Accepted: five fields (minute hour day-of-month month day-of-week) with numbers, ranges,
    steps, lists and names such as MON or JAN, or one of the DESCRIPTORS such as @hourly.
    """
    text = expression.strip()
    if text.startswith("@every"):
        return "@every intervals are not supported; write a cron expression such as '*/30 * * * *'"
    if text.startswith("@"):
        if text in DESCRIPTORS:
            return None
        return f"unknown descriptor {text!r}; use one of {', '.join(sorted(DESCRIPTORS))}"
    fields = text.split()
    if len(fields) != len(CRON_FIELDS):
        return (
            f"a schedule has {len(CRON_FIELDS)} fields ({' '.join(CRON_FIELDS)}), "
            f"this one has {len(fields)}; e.g. '0 * * * *' runs hourly"
        )
    try:
        croniter.croniter(text)
    except (croniter.CroniterError, ValueError) as error:
        return f"not a valid cron expression ({error}); e.g. '0 3 * * MON' runs Mondays at 03:00"
    return None


def _source_problems(spec: source.ReplicationSourceSpec) -> Iterator[Problem]:
    """Yield the problems of a source spec."""
    yield from _mover_problems(spec.mover_sections(), external=spec.external is not None)
    yield from _trigger_problems(spec.trigger)
    if spec.restic is None:
        return
    if not spec.source_pvc:
        yield Problem("spec.sourcePVC", "name the PersistentVolumeClaim to back up")
    yield from _restic_problems(spec.restic, copy_methods=SOURCE_COPY_METHODS)
    yield from _negative("spec.restic.pruneIntervalDays", spec.restic.prune_interval_days)
    if spec.restic.retain is not None:
        yield from _retain_problems(spec.restic.retain)


def _destination_problems(spec: destination.ReplicationDestinationSpec) -> Iterator[Problem]:
    """Yield the problems of a destination spec."""
    yield from _mover_problems(spec.mover_sections(), external=spec.external is not None)
    yield from _trigger_problems(spec.trigger)
    restic = spec.restic
    if restic is None:
        return
    yield from _restic_problems(restic, copy_methods=DESTINATION_COPY_METHODS)
    yield from _negative("spec.restic.previous", restic.previous)
    if restic.restore_as_of is not None and not _is_rfc3339(restic.restore_as_of):
        yield Problem(
            "spec.restic.restoreAsOf",
            "not an RFC 3339 time; write e.g. 2024-05-01T00:00:00Z or 2024-05-01T02:00:00+02:00",
        )
    if not restic.destination_pvc:
        yield from _new_volume_problems(restic)


def _mover_problems(sections: tuple[str, ...], *, external: bool) -> Iterator[Problem]:
    """Yield problems with the choice of mover: none, several, or one pyvolsync does not run."""
    chosen = [*sections, *(("external",) if external else ())]
    if not chosen:
        yield Problem("spec", "no mover is set; add a spec.restic section")
    elif len(chosen) > 1:
        yield Problem("spec", f"set only one mover section; found {', '.join(chosen)}")
    elif chosen[0] not in ("restic", "external"):
        yield Problem(
            f"spec.{chosen[0]}",
            f"pyvolsync runs only the restic mover, not {chosen[0]}; "
            "use spec.restic or keep this object with upstream VolSync",
        )


def _trigger_problems(trigger: common.Trigger | None) -> Iterator[Problem]:
    """Yield a problem when the schedule is one the scheduler cannot run."""
    if trigger is None or trigger.schedule is None:
        return
    problem = schedule_problem(trigger.schedule)
    if problem is not None:
        yield Problem("spec.trigger.schedule", problem)


def _restic_problems(
    restic: common.EngineSpecBase, *, copy_methods: tuple[str, ...]
) -> Iterator[Problem]:
    """Yield the problems shared by both kinds' restic sections."""
    if not restic.repository:
        yield Problem(
            "spec.restic.repository",
            "name the Secret that holds RESTIC_REPOSITORY and RESTIC_PASSWORD",
        )
    if restic.copy_method is None:
        yield Problem(
            "spec.restic.copyMethod", f"set a copy method: one of {', '.join(copy_methods)}"
        )
    elif restic.copy_method not in copy_methods:
        yield Problem(
            "spec.restic.copyMethod",
            f"{restic.copy_method} is not supported here; use one of {', '.join(copy_methods)}",
        )


def _retain_problems(retain: source.ResticRetainPolicy) -> Iterator[Problem]:
    """Yield the problems of a retention policy: negative counts, malformed within or last."""
    for name in RETENTION_COUNTS:
        yield from _negative(f"spec.restic.retain.{name}", getattr(retain, name))
    if retain.within is not None and not RESTIC_DURATION.fullmatch(retain.within):
        yield Problem(
            "spec.restic.retain.within",
            f"{retain.within!r} is not a restic duration; write numbers with units y, m, d, h "
            "and no spaces, e.g. 7d or 1y2m3d4h",
        )
    if retain.last is not None and not RESTIC_COUNT.fullmatch(retain.last):
        yield Problem(
            "spec.restic.retain.last",
            f'{retain.last!r} is not a snapshot count; write a whole number such as "5", '
            'or "unlimited"',
        )


def _new_volume_problems(restic: destination.ResticDestinationSpec) -> Iterator[Problem]:
    """Yield what is missing to create the destination volume when no destinationPVC is given."""
    if restic.capacity is None:
        yield Problem(
            "spec.restic.capacity",
            "set the size of the volume to create (e.g. 10Gi), or name one in destinationPVC",
        )
    if not restic.access_modes:
        yield Problem(
            "spec.restic.accessModes",
            "set the access modes of the volume to create (e.g. [ReadWriteOnce]), "
            "or name one in destinationPVC",
        )


def _negative(path: str, value: int | None) -> Iterator[Problem]:
    """Yield a problem when `value` is negative."""
    if value is not None and value < 0:
        yield Problem(path, f"must not be negative (got {value}); use 0 or more")


def _is_rfc3339(text: str) -> bool:
    """Return whether `text` is an RFC 3339 date-time with a valid date, time and offset."""
    if not RFC3339.fullmatch(text):
        return False
    try:
        datetime.datetime.fromisoformat(text.upper())
    except ValueError:
        return False
    return True


def _wire_path(location: tuple[int | str, ...]) -> str:
    """Return a parse error's location as a field path, e.g. spec.restic.moverVolumes[0]."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or "."
