"""The effective value of every optional spec field, in one place.

Upstream's CRDs apply no defaults: an unset field stays unset in the object, and the controller
decides what it means. pyvolsync does the same, and this module is where it decides, so the
operator, the CLI and the docs (docs/api.md) agree. Every helper is pure: given a spec (and for
time-based rules, the status and the current time), it returns the value upstream would use.
KopiaMaintenance's values are the ones the kopia fork's CRD fills in; ours leaves them unset.
"""

from __future__ import annotations

import datetime

from pyvolsync.api import common, destination, maintenance, source, wire

CACHE_CAPACITY = "1Gi"
PRUNE_INTERVAL_DAYS = 7
PREVIOUS = 0
# `restic forget` options when no retention is given, or an empty one.
DEFAULT_FORGET_OPTIONS: tuple[str, ...] = ("--keep-last", "1")
# KopiaMaintenance when unset (the fork's CRD defaults, applied here instead of in the CRD).
MAINTENANCE_SCHEDULE = "0 2 * * *"
MAINTENANCE_ACTIVE_DEADLINE_SECONDS = 10800
MAINTENANCE_SUCCESSFUL_JOBS_KEPT = 3
MAINTENANCE_FAILED_JOBS_KEPT = 1
# `restic restore` options when enableFileDeletion is true.
DELETE_RESTORE_OPTIONS: tuple[str, ...] = ("--delete",)

ResticSpec = source.ResticSourceSpec | destination.ResticDestinationSpec
EngineSpec = common.EngineSpecBase
"""Any engine's section; the volume helpers below read only what every engine has."""


def forget_options(retain: source.ResticRetainPolicy | None) -> tuple[str, ...]:
    """Return the `restic forget` --keep-* arguments for a retention policy.

    The order is upstream's (hourly, daily, weekly, monthly, yearly, within, last) and a count
    is passed as written, zero included; no policy, or one with nothing set, keeps the last one.
    Each value is one argument, never split on spaces.
    """
    if retain is None:
        return DEFAULT_FORGET_OPTIONS
    table: tuple[tuple[str, int | str | None], ...] = (
        ("--keep-hourly", retain.hourly),
        ("--keep-daily", retain.daily),
        ("--keep-weekly", retain.weekly),
        ("--keep-monthly", retain.monthly),
        ("--keep-yearly", retain.yearly),
        ("--keep-within", retain.within),
        ("--keep-last", retain.last),
    )
    options = tuple(
        part for flag, value in table if value is not None for part in (flag, str(value))
    )
    return options or DEFAULT_FORGET_OPTIONS


def copy_method(spec: EngineSpec) -> common.CopyMethod | None:
    """Return the copy method with upstream's deprecated "None" read as "Direct"."""
    return "Direct" if spec.copy_method == "None" else spec.copy_method


def cache_capacity(spec: EngineSpec) -> wire.Quantity:
    """Return the size of the restic cache volume (1Gi unless cacheCapacity says otherwise)."""
    return spec.cache_capacity if spec.cache_capacity is not None else CACHE_CAPACITY


def cache_storage_class_name(spec: EngineSpec) -> str | None:
    """Return the cache volume's StorageClass: cacheStorageClassName, else storageClassName.

    None means the cluster's default StorageClass (upstream's code; its docs say otherwise).
    """
    if spec.cache_storage_class_name is not None:
        return spec.cache_storage_class_name
    return spec.storage_class_name


def cache_access_modes(spec: EngineSpec, *, data_access_modes: list[str]) -> list[str]:
    """Return the cache volume's access modes: cacheAccessModes, accessModes, else the data's."""
    if spec.cache_access_modes:
        return list(spec.cache_access_modes)
    if spec.access_modes:
        return list(spec.access_modes)
    return list(data_access_modes)


def prune_interval(spec: source.ResticSourceSpec) -> datetime.timedelta:
    """Return the time between prunes (pruneIntervalDays, 7 days when unset)."""
    days = spec.prune_interval_days
    return datetime.timedelta(days=PRUNE_INTERVAL_DAYS if days is None else days)


def prune_due(
    spec: source.ResticSourceSpec,
    *,
    last_pruned: datetime.datetime | None,
    created: datetime.datetime,
    now: datetime.datetime,
) -> bool:
    """Return whether a prune is due: `now` is past the last prune (or creation) + interval."""
    base = last_pruned if last_pruned is not None else created
    return now > base + prune_interval(spec)


def check_due(
    *,
    interval: datetime.timedelta,
    last_checked: datetime.datetime | None,
    created: datetime.datetime,
    now: datetime.datetime,
) -> bool:
    """Return whether `restic check` is due: an interval is set (zero: never) and `now` is past
    the last passed check (or the object's creation) + interval.

    Only a check that found no damage is recorded in ``lastChecked``, so while a repository is
    damaged every sync checks it again and keeps saying so.
    """
    if interval <= datetime.timedelta(0):
        return False
    base = last_checked if last_checked is not None else created
    return now > base + interval


def unlock_due(spec: source.ResticSourceSpec, *, last_unlocked: str | None) -> bool:
    """Return whether `restic unlock` should run: unlock is set and differs from the last one."""
    return bool(spec.unlock) and spec.unlock != (last_unlocked or "")


def previous(spec: destination.ResticDestinationSpec) -> int:
    """Return how many snapshots to skip back from the newest eligible one (0 when unset)."""
    return PREVIOUS if spec.previous is None else spec.previous


def restore_as_of(spec: destination.ResticDestinationSpec) -> str:
    """Return the restore cut-off time as written, or "" for no cut-off (RESTORE_AS_OF)."""
    return spec.restore_as_of or ""


def restore_options(spec: destination.ResticDestinationSpec) -> tuple[str, ...]:
    """Return the extra `restic restore` arguments (--delete when enableFileDeletion is true)."""
    return DELETE_RESTORE_OPTIONS if spec.enable_file_deletion else ()


def paused(spec: source.ReplicationSourceSpec | destination.ReplicationDestinationSpec) -> bool:
    """Return whether the object is paused (false when unset)."""
    return bool(spec.paused)


def maintenance_schedule(spec: maintenance.KopiaMaintenanceSpec) -> str | None:
    """Return when maintenance runs: trigger.schedule, else the deprecated schedule, else daily
    at 02:00; None when only a manual trigger is set (it then runs once per new value)."""
    if spec.trigger is not None and spec.trigger.schedule is not None:
        return spec.trigger.schedule
    if spec.schedule is not None:
        return spec.schedule
    if spec.trigger is not None and spec.trigger.manual:
        return None
    return MAINTENANCE_SCHEDULE


def maintenance_enabled(spec: maintenance.KopiaMaintenanceSpec) -> bool:
    """Return whether maintenance runs at all (true unless enabled is false)."""
    return spec.enabled is not False


def maintenance_active_deadline_seconds(spec: maintenance.KopiaMaintenanceSpec) -> int:
    """Return how long one maintenance run may take, in seconds (3 hours when unset)."""
    seconds = spec.active_deadline_seconds
    return MAINTENANCE_ACTIVE_DEADLINE_SECONDS if seconds is None else seconds


def maintenance_jobs_kept(spec: maintenance.KopiaMaintenanceSpec) -> tuple[int, int]:
    """Return how many finished and failed maintenance Jobs to keep (3 and 1 when unset)."""
    successful = spec.successful_jobs_history_limit
    failed = spec.failed_jobs_history_limit
    return (
        MAINTENANCE_SUCCESSFUL_JOBS_KEPT if successful is None else successful,
        MAINTENANCE_FAILED_JOBS_KEPT if failed is None else failed,
    )
