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
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import croniter
import pydantic

from pyvolsync.api import common, destination, kopia, maintenance, source, wire, zones

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
# The engines pyvolsync runs; every other mover section is stored but not run.
ENGINES = ("restic", "kopia")
SOURCE_COPY_METHODS = ("Direct", "None", "Clone", "Snapshot")
DESTINATION_COPY_METHODS = ("Direct", "None", "Snapshot")
RETENTION_COUNTS = ("hourly", "daily", "weekly", "monthly", "yearly")
KOPIA_RETENTION_COUNTS = (*RETENTION_COUNTS, "latest")
IDENTITY = re.compile(kopia.IDENTITY_PATTERN)
# A key of a Secret or ConfigMap, which is what a policy file name is.
CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
# The fork refuses an inline repository configuration larger than this.
MAX_REPOSITORY_CONFIG_BYTES = 1024 * 1024
# Options additionalArgs must not carry, by how they start, with why and what to use instead.
# They would change which repository kopia opens, with which credentials, as whom, or where
# its configuration and cache live; the mover sets all of these from the spec.
REFUSED_KOPIA_OPTIONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("--config",), "the mover keeps kopia's configuration file itself"),
    (("--password",), "the password comes from KOPIA_PASSWORD in the repository Secret"),
    (
        ("--repository", "--storage"),
        "the repository comes from the Secret named in spec.kopia.repository",
    ),
    (
        ("--override-", "--username", "--hostname"),
        "the snapshots' identity comes from spec.kopia.username, hostname and sourcePathOverride",
    ),
    (
        ("--cache-directory", "--content-cache", "--metadata-cache", "--max-list-cache"),
        "the cache is set by cacheCapacity, metadataCacheSizeLimitMB and contentCacheSizeLimitMB",
    ),
    (("--server",), "the mover talks to the repository directly, not through a kopia server"),
)


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with an object: the field's path (e.g. spec.restic.retain) and what to do."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"At '{self.path}': {self.message}"


# The resources a validator takes, parsed; each has an optional `spec`.
Resource = TypeVar(
    "Resource",
    source.ReplicationSource,
    destination.ReplicationDestination,
    maintenance.KopiaMaintenance,
)


def validate_source(obj: Mapping[str, Any] | source.ReplicationSource) -> list[Problem]:
    """Return every problem with a ReplicationSource (a parsed model or a raw manifest dict)."""
    return _validate(
        obj, source.ReplicationSource, _source_problems, hint="set spec.sourcePVC and spec.restic"
    )


def validate_destination(
    obj: Mapping[str, Any] | destination.ReplicationDestination,
) -> list[Problem]:
    """Return every problem with a ReplicationDestination (a parsed model or a raw dict)."""
    return _validate(
        obj, destination.ReplicationDestination, _destination_problems, hint="set spec.restic"
    )


def validate_maintenance(
    obj: Mapping[str, Any] | maintenance.KopiaMaintenance,
) -> list[Problem]:
    """Return every problem with a KopiaMaintenance (a parsed model or a raw manifest dict)."""
    return _validate(
        obj,
        maintenance.KopiaMaintenance,
        _maintenance_problems,
        hint="set spec.repository.repository",
    )


def _validate(
    obj: Mapping[str, Any] | Resource,
    model: type[Resource],
    rules: Callable[[Any], Iterator[Problem]],
    *,
    hint: str,
) -> list[Problem]:
    """Return the parse's problems, or those `rules` find in the spec, or that it is missing."""
    if isinstance(obj, Mapping):
        try:
            obj = model.model_validate(obj)
        except pydantic.ValidationError as error:
            return parse_problems(error)
    if obj.spec is None:
        return [Problem("spec", f"the spec is missing; {hint}")]
    return list(rules(obj.spec))


def parse_problems(error: pydantic.ValidationError) -> list[Problem]:
    """Return one Problem per error of a failed parse, located by wire field path."""
    return [Problem(_wire_path(detail["loc"]), detail["msg"]) for detail in error.errors()]


def schedule_problem(expression: str) -> str | None:
    """Return what is wrong with a cron schedule, or None when the scheduler can run it.

    Accepted: five fields (minute hour day-of-month month day-of-week) with numbers, ranges,
    steps, lists and names such as MON or JAN, or one of the DESCRIPTORS such as @hourly;
    either may follow a ``CRON_TZ=Zone`` prefix (``zones``).
    """
    zone, text = zones.split_zone(expression)
    return _zone_problem(zone) or _cron_problem(text)


def _zone_problem(zone: str | None) -> str | None:
    if zone is None:
        return None
    try:
        zones.zone_named(zone)
    except ValueError as error:
        return f"{error} (after CRON_TZ=)"
    return None


def _cron_problem(text: str) -> str | None:
    """Return what is wrong with a cron expression without a zone prefix."""
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
    if spec.restic is None and spec.kopia is None:
        return
    if not spec.source_pvc:
        yield Problem("spec.sourcePVC", "name the PersistentVolumeClaim to back up")
    if spec.restic is not None:
        yield from _restic_source_problems(spec.restic)
    if spec.kopia is not None:
        yield from _kopia_source_problems(spec.kopia)


def _restic_source_problems(restic: source.ResticSourceSpec) -> Iterator[Problem]:
    """Yield the problems of a source's restic section."""
    yield from _engine_problems(restic, "restic", copy_methods=SOURCE_COPY_METHODS)
    yield from negative("spec.restic.pruneIntervalDays", restic.prune_interval_days)
    if restic.retain is not None:
        yield from _retain_problems(restic.retain)


def _destination_problems(spec: destination.ReplicationDestinationSpec) -> Iterator[Problem]:
    """Yield the problems of a destination spec."""
    yield from _mover_problems(spec.mover_sections(), external=spec.external is not None)
    yield from _trigger_problems(spec.trigger)
    if spec.restic is not None:
        yield from _engine_problems(spec.restic, "restic", copy_methods=DESTINATION_COPY_METHODS)
        yield from _restore_problems(spec.restic, "restic")
    if spec.kopia is not None:
        yield from _kopia_destination_problems(spec.kopia)
        yield from _restore_problems(spec.kopia, "kopia")


def _mover_problems(sections: tuple[str, ...], *, external: bool) -> Iterator[Problem]:
    """Yield problems with the choice of mover: none, several, or one pyvolsync does not run."""
    chosen = [*sections, *(("external",) if external else ())]
    if not chosen:
        yield Problem("spec", "no mover is set; add a spec.restic or spec.kopia section")
    elif len(chosen) > 1:
        yield Problem("spec", f"set only one mover section; found {', '.join(chosen)}")
    elif chosen[0] not in (*ENGINES, "external"):
        yield Problem(
            f"spec.{chosen[0]}",
            f"pyvolsync runs the restic and kopia movers, not {chosen[0]}; "
            "use spec.restic or spec.kopia, or keep this object with upstream VolSync",
        )


def _trigger_problems(trigger: common.Trigger | None) -> Iterator[Problem]:
    """Yield a problem when the schedule is one the scheduler cannot run."""
    if trigger is None or trigger.schedule is None:
        return
    problem = schedule_problem(trigger.schedule)
    if problem is not None:
        yield Problem("spec.trigger.schedule", problem)


def _engine_problems(
    section: common.EngineSpecBase, engine: str, *, copy_methods: tuple[str, ...]
) -> Iterator[Problem]:
    """Yield the problems every engine's section can have: no repository, no copy method."""
    if not section.repository:
        yield Problem(
            f"spec.{engine}.repository",
            f"name the Secret that holds {engine.upper()}_REPOSITORY and {engine.upper()}_PASSWORD",
        )
    yield from copy_method_problems(section, f"spec.{engine}", copy_methods=copy_methods)


def copy_method_problems(
    section: common.VolumeOptions, prefix: str, *, copy_methods: tuple[str, ...]
) -> Iterator[Problem]:
    """Yield a problem when the copy method is missing or not one of `copy_methods`."""
    if section.copy_method is None:
        yield Problem(
            f"{prefix}.copyMethod", f"set a copy method: one of {', '.join(copy_methods)}"
        )
    elif section.copy_method not in copy_methods:
        yield Problem(
            f"{prefix}.copyMethod",
            f"{section.copy_method} is not supported here; use one of {', '.join(copy_methods)}",
        )


def _retain_problems(retain: source.ResticRetainPolicy) -> Iterator[Problem]:
    """Yield the problems of a retention policy: negative counts, malformed within or last."""
    for name in RETENTION_COUNTS:
        yield from negative(f"spec.restic.retain.{name}", getattr(retain, name))
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


def _restore_problems(section: destination.RestoreSelection, engine: str) -> Iterator[Problem]:
    """Yield the problems of what to restore and into which volume, for either engine."""
    yield from negative(f"spec.{engine}.previous", section.previous)
    if section.restore_as_of is not None and not is_rfc3339(section.restore_as_of):
        yield Problem(
            f"spec.{engine}.restoreAsOf",
            "not an RFC 3339 time; write e.g. 2024-05-01T00:00:00Z or 2024-05-01T02:00:00+02:00",
        )
    if not section.destination_pvc:
        yield from _new_volume_problems(section, engine)


def _new_volume_problems(section: common.VolumeOptions, engine: str) -> Iterator[Problem]:
    """Yield what is missing to create the destination volume when no destinationPVC is given."""
    if section.capacity is None:
        yield Problem(
            f"spec.{engine}.capacity",
            "set the size of the volume to create (e.g. 10Gi), or name one in destinationPVC",
        )
    if not section.access_modes:
        yield Problem(
            f"spec.{engine}.accessModes",
            "set the access modes of the volume to create (e.g. [ReadWriteOnce]), "
            "or name one in destinationPVC",
        )


def _kopia_source_problems(section: source.KopiaSourceSpec) -> Iterator[Problem]:
    """Yield the problems of a source's kopia section."""
    yield from _engine_problems(section, "kopia", copy_methods=SOURCE_COPY_METHODS)
    yield from _kopia_common_problems(section)
    if section.retain is not None:
        for name in KOPIA_RETENTION_COUNTS:
            yield from negative(f"spec.kopia.retain.{name}", getattr(section.retain, name))
    if section.compression is not None and section.compression not in kopia.COMPRESSIONS:
        yield Problem(
            "spec.kopia.compression",
            f"{section.compression!r} is not a kopia compression; use one of "
            f"{', '.join(kopia.COMPRESSIONS)}",
        )
    if section.parallelism is not None and section.parallelism < 1:
        yield Problem(
            "spec.kopia.parallelism",
            f"must be at least 1 (got {section.parallelism}); or leave it unset for kopia's "
            "default",
        )
    yield from _absolute_path_problems(
        "spec.kopia.sourcePathOverride", section.source_path_override
    )


def _kopia_destination_problems(section: destination.KopiaDestinationSpec) -> Iterator[Problem]:
    """Yield the problems of a destination's kopia section."""
    identity = section.source_identity
    if not section.repository and (identity is None or not identity.source_name):
        yield Problem(
            "spec.kopia.repository",
            "name the Secret that holds KOPIA_REPOSITORY and KOPIA_PASSWORD, "
            "or set sourceIdentity.sourceName to use that ReplicationSource's",
        )
    yield from copy_method_problems(section, "spec.kopia", copy_methods=DESTINATION_COPY_METHODS)
    yield from _kopia_common_problems(section)
    yield from negative("spec.kopia.shallow", section.shallow)
    if (section.username is None) != (section.hostname is None):
        missing = "hostname" if section.hostname is None else "username"
        yield Problem(
            f"spec.kopia.{missing}",
            "set username and hostname together, or neither (or use sourceIdentity)",
        )
    if identity is not None:
        yield from _source_identity_problems(identity)


def _source_identity_problems(identity: destination.KopiaSourceIdentity) -> Iterator[Problem]:
    """Yield the problems of a destination's sourceIdentity."""
    if not identity.source_name:
        yield Problem(
            "spec.kopia.sourceIdentity.sourceName",
            "name the ReplicationSource whose snapshots to restore",
        )
    yield from _absolute_path_problems(
        "spec.kopia.sourceIdentity.sourcePathOverride", identity.source_path_override
    )


def _kopia_common_problems(section: kopia.KopiaSpecBase) -> Iterator[Problem]:
    """Yield the problems both kinds' kopia sections can have."""
    yield from _cache_limit_problems(section, "spec.kopia")
    for name in ("username", "hostname"):
        yield from _identity_problems(f"spec.kopia.{name}", getattr(section, name))
    if section.policy_config is not None:
        yield from _policy_problems(section.policy_config)
    yield from _additional_args_problems(section.additional_args or [])


def _cache_limit_problems(section: kopia.KopiaCacheLimits, prefix: str) -> Iterator[Problem]:
    """Yield a problem for each negative kopia cache limit (0 means unlimited)."""
    yield from negative(f"{prefix}.metadataCacheSizeLimitMB", section.metadata_cache_size_limit_mb)
    yield from negative(f"{prefix}.contentCacheSizeLimitMB", section.content_cache_size_limit_mb)


def _identity_problems(path: str, value: str | None) -> Iterator[Problem]:
    """Yield a problem when a username or hostname override has characters kopia's fork refuses."""
    if value is not None and not IDENTITY.fullmatch(value):
        yield Problem(
            path,
            f"{value!r} is not a valid identity; use letters and digits, with dots, "
            "underscores or hyphens only between them (e.g. my-app or nas.home)",
        )


def _absolute_path_problems(path: str, value: str | None) -> Iterator[Problem]:
    """Yield a problem when a snapshot path is not absolute or climbs with `..`."""
    if value is None:
        return
    if not value.startswith("/") or ".." in value.split("/"):
        yield Problem(
            path, f"{value!r} is not an absolute path; write one such as /data or /var/lib/app"
        )


def _policy_problems(policy: kopia.KopiaPolicyConfig) -> Iterator[Problem]:
    """Yield the problems of where the kopia policy files come from."""
    prefix = "spec.kopia.policyConfig"
    if policy.secret_name and policy.config_map_name:
        yield Problem(prefix, "set secretName or configMapName, not both")
    for name in ("global_policy_filename", "repository_config_filename"):
        value = getattr(policy, name)
        if value is not None and (not CONFIG_KEY.fullmatch(value) or value in (".", "..")):
            yield Problem(
                f"{prefix}.{wire.wire_name(name)}",
                f"{value!r} is not a key of a Secret or ConfigMap; use letters, digits, "
                "'-', '_' and '.', e.g. global-policy.json",
            )
    if policy.repository_config is not None:
        yield from _repository_config_problems(policy.repository_config, prefix)


def _repository_config_problems(text: str, prefix: str) -> Iterator[Problem]:
    """Yield a problem when the inline repository configuration is too big or not JSON."""
    path = f"{prefix}.repositoryConfig"
    if len(text.encode()) > MAX_REPOSITORY_CONFIG_BYTES:
        yield Problem(path, "is larger than 1 MiB; keep it in a Secret or ConfigMap instead")
        return
    try:
        json.loads(text)
    except ValueError as error:
        yield Problem(path, f"is not a JSON document ({error}); write it as JSON")


def _additional_args_problems(arguments: list[str]) -> Iterator[Problem]:
    """Yield the problems of additionalArgs: too many, or options the mover sets itself."""
    path = "spec.kopia.additionalArgs"
    if len(arguments) > kopia.MAX_ADDITIONAL_ARGS:
        yield Problem(
            path,
            f"has {len(arguments)} items, at most {kopia.MAX_ADDITIONAL_ARGS} are allowed; "
            "move settings into a kopia policy file (policyConfig)",
        )
    for index, argument in enumerate(arguments):
        reason = refused_argument(argument)
        if reason is not None:
            yield Problem(f"{path}[{index}]", f"{argument!r} is not allowed: {reason}")


def refused_argument(argument: str) -> str | None:
    """Return why an additionalArgs item is refused, or None when the mover may pass it on."""
    if not argument.startswith("-") or argument == "--":
        return (
            "additionalArgs holds options only, each with its value (e.g. --parallel=8); "
            "a bare word would be read as a command or a path to snapshot"
        )
    option = argument.split("=", 1)[0]
    for prefixes, reason in REFUSED_KOPIA_OPTIONS:
        if option.startswith(prefixes):
            return reason
    return None


def _maintenance_problems(spec: maintenance.KopiaMaintenanceSpec) -> Iterator[Problem]:
    """Yield the problems of a KopiaMaintenance spec."""
    trigger = spec.trigger
    if trigger is not None and trigger.schedule is not None and trigger.manual:
        yield Problem("spec.trigger", "set schedule or manual, not both")
    yield from _trigger_problems(trigger)
    if spec.schedule is not None:
        problem = schedule_problem(spec.schedule)
        if problem is not None:
            yield Problem("spec.schedule", problem)
    yield from _cache_limit_problems(spec, "spec")


def negative(path: str, value: int | None) -> Iterator[Problem]:
    """Yield a problem when `value` is negative."""
    if value is not None and value < 0:
        yield Problem(path, f"must not be negative (got {value}); use 0 or more")


def is_rfc3339(text: str) -> bool:
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
