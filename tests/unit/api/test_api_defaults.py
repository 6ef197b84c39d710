"""Unset spec fields mean what they mean upstream: the defaults module is the one place to ask."""

from __future__ import annotations

import datetime

import pytest

from pyvolsync.api import defaults, destination, maintenance, source

CREATED = datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC)


def retain(**values: object) -> source.ResticRetainPolicy:
    return source.ResticRetainPolicy.model_validate(values)


def restic_source(**values: object) -> source.ResticSourceSpec:
    return source.ResticSourceSpec.model_validate(values)


def restic_destination(**values: object) -> destination.ResticDestinationSpec:
    return destination.ResticDestinationSpec.model_validate(values)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (None, ("--keep-last", "1")),
        (retain(), ("--keep-last", "1")),
        (retain(hourly=24, daily=7), ("--keep-hourly", "24", "--keep-daily", "7")),
        (retain(daily=0), ("--keep-daily", "0")),
        (retain(within="1y2m3d4h"), ("--keep-within", "1y2m3d4h")),
        (retain(last="unlimited"), ("--keep-last", "unlimited")),
        (
            retain(last="3", within="7d", yearly=1, monthly=2, weekly=3, daily=4, hourly=5),
            (
                "--keep-hourly", "5", "--keep-daily", "4", "--keep-weekly", "3",
                "--keep-monthly", "2", "--keep-yearly", "1", "--keep-within", "7d",
                "--keep-last", "3",
            ),
        ),
    ],
)  # fmt: skip
def test_forget_options_follow_upstreams_table(
    policy: source.ResticRetainPolicy | None, expected: tuple[str, ...]
) -> None:
    assert defaults.forget_options(policy) == expected


def test_a_value_with_spaces_stays_one_argument() -> None:
    assert defaults.forget_options(retain(within="7d --keep-last 0")) == (
        "--keep-within",
        "7d --keep-last 0",
    )


def test_cache_capacity_is_one_gibibyte_unless_set() -> None:
    assert defaults.cache_capacity(restic_source()) == "1Gi"
    assert defaults.cache_capacity(restic_source(cacheCapacity="5Gi")) == "5Gi"
    assert defaults.cache_capacity(restic_destination(cacheCapacity=1024)) == 1024


def test_cache_storage_class_falls_back_to_the_volume_class_then_the_cluster_default() -> None:
    assert defaults.cache_storage_class_name(restic_source()) is None
    assert defaults.cache_storage_class_name(restic_source(storageClassName="longhorn")) == (
        "longhorn"
    )
    both = restic_source(storageClassName="longhorn", cacheStorageClassName="openebs-hostpath")
    assert defaults.cache_storage_class_name(both) == "openebs-hostpath"


def test_cache_access_modes_fall_back_to_access_modes_then_the_data_volume() -> None:
    data = ["ReadWriteMany"]
    assert defaults.cache_access_modes(restic_source(), data_access_modes=data) == data
    assert defaults.cache_access_modes(
        restic_source(accessModes=["ReadWriteOnce"]), data_access_modes=data
    ) == ["ReadWriteOnce"]
    assert defaults.cache_access_modes(
        restic_source(accessModes=["ReadWriteOnce"], cacheAccessModes=["ReadWriteOncePod"]),
        data_access_modes=data,
    ) == ["ReadWriteOncePod"]


def test_copy_method_none_means_direct() -> None:
    assert defaults.copy_method(restic_source(copyMethod="None")) == "Direct"
    assert defaults.copy_method(restic_source(copyMethod="Clone")) == "Clone"
    assert defaults.copy_method(restic_source()) is None


def test_prune_is_due_a_week_after_creation_by_default() -> None:
    spec = restic_source()
    week = datetime.timedelta(days=7)
    second = datetime.timedelta(seconds=1)
    assert not defaults.prune_due(spec, last_pruned=None, created=CREATED, now=CREATED + week)
    assert defaults.prune_due(spec, last_pruned=None, created=CREATED, now=CREATED + week + second)


def test_prune_interval_counts_from_the_last_prune() -> None:
    spec = restic_source(pruneIntervalDays=2)
    last = CREATED + datetime.timedelta(days=30)
    assert defaults.prune_interval(spec) == datetime.timedelta(days=2)
    assert not defaults.prune_due(
        spec, last_pruned=last, created=CREATED, now=last + datetime.timedelta(days=1)
    )
    assert defaults.prune_due(
        spec, last_pruned=last, created=CREATED, now=last + datetime.timedelta(days=3)
    )


def test_prune_interval_zero_prunes_after_every_sync() -> None:
    spec = restic_source(pruneIntervalDays=0)
    now = CREATED + datetime.timedelta(minutes=1)
    assert defaults.prune_due(spec, last_pruned=CREATED, created=CREATED, now=now)


def test_unlock_runs_once_per_new_value() -> None:
    assert not defaults.unlock_due(restic_source(), last_unlocked=None)
    assert defaults.unlock_due(restic_source(unlock="a"), last_unlocked=None)
    assert defaults.unlock_due(restic_source(unlock="b"), last_unlocked="a")
    assert not defaults.unlock_due(restic_source(unlock="b"), last_unlocked="b")


def test_restore_settings_default_to_newest_snapshot_without_deletion() -> None:
    spec = restic_destination()
    assert defaults.previous(spec) == 0
    assert defaults.restore_as_of(spec) == ""
    assert defaults.restore_options(spec) == ()


def test_restore_settings_as_written() -> None:
    spec = restic_destination(
        previous=2, restoreAsOf="2024-05-01T00:00:00Z", enableFileDeletion=True
    )
    assert defaults.previous(spec) == 2
    assert defaults.restore_as_of(spec) == "2024-05-01T00:00:00Z"
    assert defaults.restore_options(spec) == ("--delete",)


def test_paused_is_false_unless_set() -> None:
    assert not defaults.paused(source.ReplicationSourceSpec())
    assert defaults.paused(destination.ReplicationDestinationSpec(paused=True))


def test_check_is_due_an_interval_after_the_last_passed_check_or_creation() -> None:
    week = datetime.timedelta(days=7)
    later = CREATED + datetime.timedelta(days=30)

    def due(last_checked: datetime.datetime | None, now: datetime.datetime) -> bool:
        return defaults.check_due(
            interval=week, last_checked=last_checked, created=CREATED, now=now
        )

    assert not due(None, CREATED + week)
    assert due(None, CREATED + week + datetime.timedelta(seconds=1))
    assert not due(later, later + datetime.timedelta(days=6))
    assert due(later, later + datetime.timedelta(days=8))


def test_a_zero_check_interval_never_checks() -> None:
    long_after = CREATED + datetime.timedelta(days=3650)
    assert not defaults.check_due(
        interval=datetime.timedelta(0), last_checked=None, created=CREATED, now=long_after
    )


def maintenance_spec(**values: object) -> maintenance.KopiaMaintenanceSpec:
    return maintenance.KopiaMaintenanceSpec.model_validate(
        {"repository": {"repository": "photos-kopia"}, **values}
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, "0 2 * * *"),
        ({"trigger": {}}, "0 2 * * *"),
        ({"schedule": "0 5 * * *"}, "0 5 * * *"),
        ({"trigger": {"schedule": "0 4 * * 0"}, "schedule": "0 5 * * *"}, "0 4 * * 0"),
        ({"trigger": {"manual": "now"}}, None),
        ({"trigger": {"manual": "now"}, "schedule": "0 5 * * *"}, "0 5 * * *"),
    ],
)
def test_maintenance_runs_on_its_trigger_then_the_old_field_then_daily_at_two(
    values: dict[str, object], expected: str | None
) -> None:
    assert defaults.maintenance_schedule(maintenance_spec(**values)) == expected


def test_maintenance_is_enabled_unless_switched_off() -> None:
    assert defaults.maintenance_enabled(maintenance_spec())
    assert defaults.maintenance_enabled(maintenance_spec(enabled=True))
    assert not defaults.maintenance_enabled(maintenance_spec(enabled=False))


def test_maintenance_runs_take_three_hours_at_most_unless_set() -> None:
    assert defaults.maintenance_active_deadline_seconds(maintenance_spec()) == 10800
    spec = maintenance_spec(activeDeadlineSeconds=600)
    assert defaults.maintenance_active_deadline_seconds(spec) == 600


def test_maintenance_keeps_three_finished_and_one_failed_job_unless_set() -> None:
    assert defaults.maintenance_jobs_kept(maintenance_spec()) == (3, 1)
    spec = maintenance_spec(successfulJobsHistoryLimit=0, failedJobsHistoryLimit=5)
    assert defaults.maintenance_jobs_kept(spec) == (0, 5)
