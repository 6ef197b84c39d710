"""Each validator rule has a failing and a passing case; every problem names its field."""

from __future__ import annotations

import copy
import pathlib
from typing import Any

import pytest
import yaml

from pyvolsync.api import destination, source, validation

CORPUS = pathlib.Path(__file__).parents[2] / "corpus"
SOURCE: dict[str, Any] = {
    "apiVersion": "volsync.backube/v1alpha1",
    "kind": "ReplicationSource",
    "metadata": {"name": "app", "namespace": "ns"},
    "spec": {
        "sourcePVC": "app-data",
        "trigger": {"schedule": "0 * * * *"},
        "restic": {"repository": "app-restic", "copyMethod": "Snapshot"},
    },
}
DESTINATION: dict[str, Any] = {
    "apiVersion": "volsync.backube/v1alpha1",
    "kind": "ReplicationDestination",
    "metadata": {"name": "app-restore", "namespace": "ns"},
    "spec": {
        "trigger": {"manual": "once"},
        "restic": {
            "repository": "app-restic",
            "copyMethod": "Direct",
            "capacity": "1Gi",
            "accessModes": ["ReadWriteOnce"],
        },
    },
}

VALIDATORS = {
    "ReplicationSource": validation.validate_source,
    "ReplicationDestination": validation.validate_destination,
    "KopiaMaintenance": validation.validate_maintenance,
}


def edited(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Return a copy of `base` with the field at dotted `path` set (or removed for ...)."""
    document = copy.deepcopy(base)
    *parents, leaf = path.split(".")
    node = document
    for key in parents:
        node = node.setdefault(key, {})
    if value is ...:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return document


def source_problems(path: str, value: Any) -> list[validation.Problem]:
    return validation.validate_source(edited(SOURCE, path, value))


def destination_problems(path: str, value: Any) -> list[validation.Problem]:
    return validation.validate_destination(edited(DESTINATION, path, value))


def paths(problems: list[validation.Problem]) -> list[str]:
    return [problem.path for problem in problems]


@pytest.mark.parametrize("path", sorted((CORPUS / "supported").glob("*.yaml")), ids=str)
def test_supported_corpus_has_no_problems(path: pathlib.Path) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    validate = VALIDATORS[document["kind"]]
    assert validate(document) == []


@pytest.mark.parametrize("path", sorted((CORPUS / "unsupported").glob("*.yaml")), ids=str)
def test_unsupported_corpus_reports_the_mover(path: pathlib.Path) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    validate = VALIDATORS[document["kind"]]
    problems = validate(document)
    assert len(problems) == 1
    assert "pyvolsync runs the restic and kopia movers" in problems[0].message


@pytest.mark.parametrize(
    "schedule",
    [
        "0 * * * *",
        "*/15 2-5 1,15 * *",
        "0 3 * * MON",
        "0 3 * JAN,JUL MON-FRI",
        "@hourly",
        "@daily",
        "@midnight",
        "@annually",
    ],
)
def test_valid_schedules_pass(schedule: str) -> None:
    assert source_problems("spec.trigger.schedule", schedule) == []


@pytest.mark.parametrize(
    ("schedule", "says"),
    [
        ("@every 5m", "@every intervals are not supported"),
        ("@hourlyX", "unknown descriptor"),
        ("@reboot", "unknown descriptor"),
        ("*/5 * * * * *", "this one has 6"),
        ("foo 1 2 3 4 5", "this one has 6"),
        ("*****", "this one has 1"),
        ("61 * * * *", "not a valid cron expression"),
        ("0 0 * * 8", "not a valid cron expression"),
        ("*/0 * * * *", "not a valid cron expression"),
        ("0 0 * FOO *", "not a valid cron expression"),
        ("", "this one has 0"),
    ],
)
def test_invalid_schedules_fail_with_the_reason(schedule: str, says: str) -> None:
    problems = source_problems("spec.trigger.schedule", schedule)
    assert paths(problems) == ["spec.trigger.schedule"]
    assert says in problems[0].message


def test_the_same_schedule_rules_apply_to_destinations() -> None:
    assert destination_problems("spec.trigger", {"schedule": "@weekly"}) == []
    assert paths(destination_problems("spec.trigger", {"schedule": "@every 1h"})) == [
        "spec.trigger.schedule"
    ]


@pytest.mark.parametrize("field", ["hourly", "daily", "weekly", "monthly", "yearly"])
def test_negative_retention_counts_fail_and_zero_passes(field: str) -> None:
    path = f"spec.restic.retain.{field}"
    assert source_problems(path, 0) == []
    problems = source_problems(path, -1)
    assert paths(problems) == [path]
    assert "must not be negative" in problems[0].message


def test_negative_prune_interval_fails_and_zero_passes() -> None:
    assert source_problems("spec.restic.pruneIntervalDays", 0) == []
    assert paths(source_problems("spec.restic.pruneIntervalDays", -7)) == [
        "spec.restic.pruneIntervalDays"
    ]


def test_negative_previous_fails_and_zero_passes() -> None:
    assert destination_problems("spec.restic.previous", 0) == []
    assert paths(destination_problems("spec.restic.previous", -1)) == ["spec.restic.previous"]


@pytest.mark.parametrize("within", ["7d", "24h", "1y2m3d4h", "2y"])
def test_restic_durations_pass(within: str) -> None:
    assert source_problems("spec.restic.retain.within", within) == []


@pytest.mark.parametrize("within", ["", "7", "1w", "7d 2h", "-1d", "7 days", "1.5d"])
def test_malformed_durations_fail(within: str) -> None:
    problems = source_problems("spec.restic.retain.within", within)
    assert paths(problems) == ["spec.restic.retain.within"]
    assert "not a restic duration" in problems[0].message


@pytest.mark.parametrize("last", ["0", "5", "unlimited"])
def test_snapshot_counts_pass(last: str) -> None:
    assert source_problems("spec.restic.retain.last", last) == []


@pytest.mark.parametrize("last", ["", "-1", "five", "5 --keep-daily 0", "1.5", "Unlimited"])
def test_malformed_snapshot_counts_fail(last: str) -> None:
    problems = source_problems("spec.restic.retain.last", last)
    assert paths(problems) == ["spec.restic.retain.last"]


@pytest.mark.parametrize(
    "moment",
    [
        "2024-05-01T00:00:00Z",
        "2024-05-01T02:00:00+02:00",
        "2024-05-01T00:00:00.5Z",
        "2024-05-01t00:00:00z",
    ],
)
def test_rfc3339_restore_times_pass(moment: str) -> None:
    assert destination_problems("spec.restic.restoreAsOf", moment) == []


@pytest.mark.parametrize(
    "moment",
    [
        "2024-05-01",
        "2024-05-01 00:00:00Z",
        "2024-05-01T00:00:00",
        "2024-13-01T00:00:00Z",
        "yesterday",
    ],
)
def test_other_restore_times_fail(moment: str) -> None:
    problems = destination_problems("spec.restic.restoreAsOf", moment)
    assert paths(problems) == ["spec.restic.restoreAsOf"]
    assert "RFC 3339" in problems[0].message


def test_no_mover_fails() -> None:
    problems = source_problems("spec.restic", ...)
    assert paths(problems) == ["spec"]
    assert "no mover" in problems[0].message


def test_two_movers_fail_naming_both() -> None:
    problems = source_problems("spec.rclone", {"rcloneConfig": "x"})
    assert paths(problems) == ["spec"]
    assert "restic, rclone" in problems[0].message


def test_a_mover_beside_external_fails() -> None:
    problems = destination_problems("spec.external", {"provider": "example.com/x"})
    assert paths(problems) == ["spec"]
    assert "restic, external" in problems[0].message


def test_external_alone_is_left_to_its_provider() -> None:
    document = edited(SOURCE, "spec.restic", ...)
    document["spec"]["external"] = {"provider": "example.com/x"}
    assert validation.validate_source(document) == []


@pytest.mark.parametrize("mover", ["rsync", "rsyncTLS", "rclone", "syncthing"])
def test_a_mover_pyvolsync_does_not_run_fails(mover: str) -> None:
    document = edited(SOURCE, "spec.restic", ...)
    document["spec"][mover] = {}
    problems = validation.validate_source(document)
    assert paths(problems) == [f"spec.{mover}"]
    assert "restic" in problems[0].message


@pytest.mark.parametrize("method", ["Direct", "None", "Clone", "Snapshot"])
def test_every_copy_method_works_for_sources(method: str) -> None:
    assert source_problems("spec.restic.copyMethod", method) == []


@pytest.mark.parametrize("method", ["Direct", "None", "Snapshot"])
def test_destinations_accept_direct_none_and_snapshot(method: str) -> None:
    assert destination_problems("spec.restic.copyMethod", method) == []


def test_destinations_refuse_clone() -> None:
    problems = destination_problems("spec.restic.copyMethod", "Clone")
    assert paths(problems) == ["spec.restic.copyMethod"]
    assert "Clone is not supported" in problems[0].message


@pytest.mark.parametrize("check", [source_problems, destination_problems])
def test_a_missing_copy_method_fails(check: Any) -> None:
    problems = check("spec.restic.copyMethod", ...)
    assert paths(problems) == ["spec.restic.copyMethod"]
    assert "set a copy method" in problems[0].message


@pytest.mark.parametrize("check", [source_problems, destination_problems])
def test_a_missing_repository_fails(check: Any) -> None:
    problems = check("spec.restic.repository", ...)
    assert paths(problems) == ["spec.restic.repository"]
    assert "RESTIC_PASSWORD" in problems[0].message


def test_a_source_without_source_pvc_fails() -> None:
    assert paths(source_problems("spec.sourcePVC", ...)) == ["spec.sourcePVC"]


def test_a_new_destination_volume_needs_capacity_and_access_modes() -> None:
    document = edited(DESTINATION, "spec.restic.capacity", ...)
    del document["spec"]["restic"]["accessModes"]
    problems = validation.validate_destination(document)
    assert paths(problems) == ["spec.restic.capacity", "spec.restic.accessModes"]
    assert all("destinationPVC" in problem.message for problem in problems)


def test_an_existing_destination_volume_needs_neither() -> None:
    document = edited(DESTINATION, "spec.restic.destinationPVC", "app-data")
    del document["spec"]["restic"]["capacity"]
    del document["spec"]["restic"]["accessModes"]
    assert validation.validate_destination(document) == []


def test_every_problem_is_reported_at_once() -> None:
    document = copy.deepcopy(SOURCE)
    document["spec"]["trigger"]["schedule"] = "@every 1h"
    document["spec"]["restic"] = {
        "pruneIntervalDays": -1,
        "retain": {"hourly": -2, "within": "soon", "last": "all"},
    }
    problems = validation.validate_source(document)
    assert paths(problems) == [
        "spec.trigger.schedule",
        "spec.restic.repository",
        "spec.restic.copyMethod",
        "spec.restic.pruneIntervalDays",
        "spec.restic.retain.hourly",
        "spec.restic.retain.within",
        "spec.restic.retain.last",
    ]


def test_a_missing_spec_is_a_problem() -> None:
    assert paths(validation.validate_source({"kind": "ReplicationSource"})) == ["spec"]
    assert paths(validation.validate_destination({"kind": "ReplicationDestination"})) == ["spec"]


def test_a_manifest_the_schema_would_refuse_reports_each_field() -> None:
    document = edited(SOURCE, "spec.restic.copyMethod", "Copy")
    document["spec"]["restic"]["retain"] = {"daily": "7"}
    document["spec"]["restic"]["moverVolumes"] = [{"mountPath": "x"}]
    problems = validation.validate_source(document)
    assert sorted(paths(problems)) == [
        "spec.restic.copyMethod",
        "spec.restic.moverVolumes[0].volumeSource",
        "spec.restic.retain.daily",
    ]


def test_parsed_models_are_validated_too() -> None:
    parsed = destination.ReplicationDestination.model_validate(
        edited(DESTINATION, "spec.restic.previous", -3)
    )
    assert paths(validation.validate_destination(parsed)) == ["spec.restic.previous"]
    assert validation.validate_source(source.ReplicationSource.model_validate(SOURCE)) == []


def test_a_problem_reads_as_a_sentence_naming_its_field() -> None:
    problem = validation.Problem("spec.restic.retain.hourly", "must not be negative (got -1)")
    assert str(problem) == "At 'spec.restic.retain.hourly': must not be negative (got -1)"
