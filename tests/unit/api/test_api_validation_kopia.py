"""The kopia rules: each has a failing and a passing case, and every problem names its field."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.api.test_api_validation import edited, paths

from pyvolsync.api import kopia, validation

SOURCE: dict[str, Any] = {
    "apiVersion": "volsync.backube/v1alpha1",
    "kind": "ReplicationSource",
    "metadata": {"name": "photos", "namespace": "family"},
    "spec": {
        "sourcePVC": "photos-library",
        "trigger": {"schedule": "0 1 * * *"},
        "kopia": {"repository": "photos-kopia", "copyMethod": "Snapshot"},
    },
}
DESTINATION: dict[str, Any] = {
    "apiVersion": "volsync.backube/v1alpha1",
    "kind": "ReplicationDestination",
    "metadata": {"name": "photos-restore", "namespace": "family"},
    "spec": {
        "trigger": {"manual": "once"},
        "kopia": {
            "repository": "photos-kopia",
            "copyMethod": "Direct",
            "capacity": "10Gi",
            "accessModes": ["ReadWriteOnce"],
        },
    },
}
MAINTENANCE: dict[str, Any] = {
    "apiVersion": "volsync.backube/v1alpha1",
    "kind": "KopiaMaintenance",
    "metadata": {"name": "photos-maintenance", "namespace": "family"},
    "spec": {"repository": {"repository": "photos-kopia"}, "trigger": {"schedule": "0 2 * * *"}},
}


def source_problems(path: str, value: Any) -> list[validation.Problem]:
    return validation.validate_source(edited(SOURCE, path, value))


def destination_problems(path: str, value: Any) -> list[validation.Problem]:
    return validation.validate_destination(edited(DESTINATION, path, value))


def maintenance_problems(path: str, value: Any) -> list[validation.Problem]:
    return validation.validate_maintenance(edited(MAINTENANCE, path, value))


def only_problem(problems: list[validation.Problem], path: str) -> str:
    """Assert there is one problem, at `path`; return its message."""
    assert paths(problems) == [path]
    return problems[0].message


def test_the_base_objects_have_no_problems() -> None:
    assert validation.validate_source(SOURCE) == []
    assert validation.validate_destination(DESTINATION) == []
    assert validation.validate_maintenance(MAINTENANCE) == []


@pytest.mark.parametrize("compression", kopia.COMPRESSIONS)
def test_every_kopia_compression_name_passes(compression: str) -> None:
    assert source_problems("spec.kopia.compression", compression) == []


@pytest.mark.parametrize(
    "compression", ["zstd-max", "ZSTD", "deflate-default-compression", "brotli", ""]
)
def test_an_unknown_compression_fails_listing_the_names(compression: str) -> None:
    message = only_problem(
        source_problems("spec.kopia.compression", compression), "spec.kopia.compression"
    )
    assert "is not a kopia compression; use one of none, deflate-best-compression" in message


@pytest.mark.parametrize("name", ["a", "my-app", "nas.home", "App_1", "x9"])
@pytest.mark.parametrize("field", ["username", "hostname"])
def test_identities_of_letters_digits_dots_underscores_hyphens_pass(field: str, name: str) -> None:
    document = edited(SOURCE, f"spec.kopia.{field}", name)
    assert validation.validate_source(document) == []


@pytest.mark.parametrize("name", ["-app", "app-", "my app", "me@home", "ümlaut", "a/b", ""])
@pytest.mark.parametrize("field", ["username", "hostname"])
def test_identities_with_other_characters_fail(field: str, name: str) -> None:
    message = only_problem(source_problems(f"spec.kopia.{field}", name), f"spec.kopia.{field}")
    assert "is not a valid identity; use letters and digits" in message


@pytest.mark.parametrize("path", ["/data", "/", "/var/lib/app"])
def test_an_absolute_source_path_override_passes(path: str) -> None:
    assert source_problems("spec.kopia.sourcePathOverride", path) == []


@pytest.mark.parametrize("path", ["data", "./data", "/data/../etc", ""])
def test_a_relative_or_climbing_source_path_override_fails(path: str) -> None:
    message = only_problem(
        source_problems("spec.kopia.sourcePathOverride", path), "spec.kopia.sourcePathOverride"
    )
    assert "is not an absolute path" in message


def test_options_that_leave_the_connection_alone_pass() -> None:
    arguments = ["--one-file-system", "--ignore-cache-dirs", "--parallel=8", "--tags=env:prod"]
    assert source_problems("spec.kopia.additionalArgs", arguments) == []


@pytest.mark.parametrize(
    ("argument", "says"),
    [
        ("--config-file=/tmp/kopia.config", "configuration file"),
        ("--config-file", "configuration file"),
        ("--password=secret", "KOPIA_PASSWORD"),
        ("--password-file=/tmp/p", "KOPIA_PASSWORD"),
        ("--repository=s3://bucket", "spec.kopia.repository"),
        ("--storage-type=s3", "spec.kopia.repository"),
        ("--override-hostname=elsewhere", "identity"),
        ("--override-username=someone", "identity"),
        ("--override-source=/etc", "identity"),
        ("--username=someone", "identity"),
        ("--hostname=elsewhere", "identity"),
        ("--cache-directory=/tmp/cache", "cacheCapacity"),
        ("--content-cache-size-mb=10", "cacheCapacity"),
        ("--metadata-cache-size-limit-mb=10", "cacheCapacity"),
        ("--server-password=x", "kopia server"),
        ("connect", "options only"),
        ("create", "options only"),
        ("/etc", "options only"),
        ("--", "options only"),
    ],
)
def test_options_that_would_change_the_connection_fail(argument: str, says: str) -> None:
    problems = source_problems("spec.kopia.additionalArgs", ["--one-file-system", argument])
    message = only_problem(problems, "spec.kopia.additionalArgs[1]")
    assert message.startswith(f"{argument!r} is not allowed: ")
    assert says in message


def test_twenty_additional_args_pass_and_twenty_one_fail() -> None:
    assert source_problems("spec.kopia.additionalArgs", ["--one-file-system"] * 20) == []
    problems = source_problems("spec.kopia.additionalArgs", ["--one-file-system"] * 21)
    message = only_problem(problems, "spec.kopia.additionalArgs")
    assert "has 21 items, at most 20 are allowed" in message


def test_destinations_check_additional_args_too() -> None:
    problems = destination_problems("spec.kopia.additionalArgs", ["--password=x"])
    assert paths(problems) == ["spec.kopia.additionalArgs[0]"]


@pytest.mark.parametrize("field", ["hourly", "daily", "weekly", "monthly", "yearly", "latest"])
def test_negative_kopia_retention_fails_and_zero_passes(field: str) -> None:
    path = f"spec.kopia.retain.{field}"
    assert source_problems(path, 0) == []
    assert "must not be negative" in only_problem(source_problems(path, -1), path)


@pytest.mark.parametrize("value", [0, -2])
def test_parallelism_below_one_fails(value: int) -> None:
    message = only_problem(
        source_problems("spec.kopia.parallelism", value), "spec.kopia.parallelism"
    )
    assert "must be at least 1" in message


def test_parallelism_of_one_passes() -> None:
    assert source_problems("spec.kopia.parallelism", 1) == []


@pytest.mark.parametrize("field", ["metadataCacheSizeLimitMB", "contentCacheSizeLimitMB"])
def test_negative_cache_limits_fail_and_zero_means_unlimited(field: str) -> None:
    path = f"spec.kopia.{field}"
    assert source_problems(path, 0) == []
    assert paths(source_problems(path, -1)) == [path]
    assert paths(destination_problems(path, -1)) == [path]


def test_a_policy_from_both_a_secret_and_a_config_map_fails() -> None:
    policy = {"secretName": "policy", "configMapName": "policy"}
    message = only_problem(
        source_problems("spec.kopia.policyConfig", policy), "spec.kopia.policyConfig"
    )
    assert message == "set secretName or configMapName, not both"


@pytest.mark.parametrize("field", ["globalPolicyFilename", "repositoryConfigFilename"])
@pytest.mark.parametrize("name", ["../global.json", "policies/global.json", "..", "a b"])
def test_a_policy_file_name_that_is_no_key_fails(field: str, name: str) -> None:
    policy = {"configMapName": "policy", field: name}
    message = only_problem(
        source_problems("spec.kopia.policyConfig", policy), f"spec.kopia.policyConfig.{field}"
    )
    assert "is not a key of a Secret or ConfigMap" in message


def test_an_inline_repository_config_must_be_json_of_at_most_one_mebibyte() -> None:
    path = "spec.kopia.policyConfig.repositoryConfig"
    assert source_problems("spec.kopia.policyConfig", {"repositoryConfig": '{"a": 1}'}) == []
    broken = source_problems("spec.kopia.policyConfig", {"repositoryConfig": "{enable: yes"})
    assert "is not a JSON document" in only_problem(broken, path)
    huge = '"' + "x" * (1024 * 1024) + '"'
    too_big = source_problems("spec.kopia.policyConfig", {"repositoryConfig": huge})
    assert "larger than 1 MiB" in only_problem(too_big, path)


def test_restic_and_kopia_together_fail_naming_both() -> None:
    document = edited(SOURCE, "spec.restic", {"repository": "r", "copyMethod": "Snapshot"})
    message = only_problem(validation.validate_source(document), "spec")
    assert message == "set only one mover section; found restic, kopia"


def test_a_kopia_source_needs_its_repository_copy_method_and_volume() -> None:
    document = edited(SOURCE, "spec.kopia", {})
    del document["spec"]["sourcePVC"]
    problems = validation.validate_source(document)
    assert paths(problems) == ["spec.sourcePVC", "spec.kopia.repository", "spec.kopia.copyMethod"]
    assert "KOPIA_REPOSITORY and KOPIA_PASSWORD" in problems[1].message


@pytest.mark.parametrize(("given", "missing"), [("username", "hostname"), ("hostname", "username")])
def test_a_destination_names_username_and_hostname_together(given: str, missing: str) -> None:
    message = only_problem(
        destination_problems(f"spec.kopia.{given}", "photos"), f"spec.kopia.{missing}"
    )
    assert "set username and hostname together, or neither" in message


def test_a_destination_with_both_username_and_hostname_passes() -> None:
    document = edited(DESTINATION, "spec.kopia.username", "photos")
    document["spec"]["kopia"]["hostname"] = "family"
    assert validation.validate_destination(document) == []


def test_a_source_identity_needs_the_source_name() -> None:
    problems = destination_problems("spec.kopia.sourceIdentity", {"sourceNamespace": "family"})
    message = only_problem(problems, "spec.kopia.sourceIdentity.sourceName")
    assert "name the ReplicationSource" in message


def test_a_source_identity_path_must_be_absolute() -> None:
    identity = {"sourceName": "photos", "sourcePathOverride": "photos"}
    problems = destination_problems("spec.kopia.sourceIdentity", identity)
    assert paths(problems) == ["spec.kopia.sourceIdentity.sourcePathOverride"]


def test_a_destination_takes_the_repository_from_its_source_identity_or_needs_one() -> None:
    document = edited(DESTINATION, "spec.kopia.repository", ...)
    message = only_problem(validation.validate_destination(document), "spec.kopia.repository")
    assert "or set sourceIdentity.sourceName" in message
    document["spec"]["kopia"]["sourceIdentity"] = {"sourceName": "photos"}
    assert validation.validate_destination(document) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("spec.kopia.restoreAsOf", "yesterday"),
        ("spec.kopia.previous", -1),
        ("spec.kopia.shallow", -1),
        ("spec.kopia.copyMethod", "Clone"),
    ],
)
def test_kopia_restores_follow_the_same_rules_as_restic(path: str, value: Any) -> None:
    assert paths(destination_problems(path, value)) == [path]


def test_a_new_kopia_destination_volume_needs_capacity_and_access_modes() -> None:
    document = edited(DESTINATION, "spec.kopia.capacity", ...)
    del document["spec"]["kopia"]["accessModes"]
    problems = validation.validate_destination(document)
    assert paths(problems) == ["spec.kopia.capacity", "spec.kopia.accessModes"]


def test_maintenance_with_schedule_and_manual_fails() -> None:
    trigger = {"schedule": "0 2 * * *", "manual": "now"}
    message = only_problem(maintenance_problems("spec.trigger", trigger), "spec.trigger")
    assert message == "set schedule or manual, not both"


@pytest.mark.parametrize("path", ["spec.trigger.schedule", "spec.schedule"])
def test_maintenance_schedules_are_checked_like_sync_schedules(path: str) -> None:
    assert maintenance_problems(path, "@weekly") == []
    assert "@every intervals are not supported" in only_problem(
        maintenance_problems(path, "@every 1h"), path
    )


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("spec.repository.repository", ""),
        ("spec.repository", ...),
        ("spec.activeDeadlineSeconds", 599),
        ("spec.successfulJobsHistoryLimit", -1),
        ("spec.failedJobsHistoryLimit", -1),
    ],
)
def test_maintenance_values_the_crd_refuses_are_reported_at_their_field(
    path: str, value: Any
) -> None:
    assert paths(maintenance_problems(path, value)) == [path]


def test_the_shortest_maintenance_deadline_passes() -> None:
    assert maintenance_problems("spec.activeDeadlineSeconds", 600) == []


def test_negative_maintenance_cache_limits_fail() -> None:
    path = "spec.metadataCacheSizeLimitMB"
    assert paths(maintenance_problems(path, -5)) == [path]


def test_maintenance_without_a_spec_is_a_problem() -> None:
    problems = validation.validate_maintenance({"kind": "KopiaMaintenance"})
    assert only_problem(problems, "spec") == ("the spec is missing; set spec.repository.repository")
