"""Bad input on a live cluster: every rule of the validator (api/validation.py, docs/api.md)
broken once, on a real object, in front of the real operator.

A value the CRD schema lets through but that cannot work must end in exactly one clear
condition (`Synchronizing=False`, reason `Error`, a message naming the field), one Warning event
`ConfigurationError` saying the same, and nothing started: no Job, PVC, VolumeSnapshot or
ServiceAccount, as the API server's audit log shows. A value the schema itself forbids (the
upstream schedule pattern, the copy-method enum, the date-time format, a type) never gets that
far: the API server refuses it at apply time, naming the field, and no object exists.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from localcluster import controlplane
from localcluster.testing import apply, get, wait_until
from tests.chaos import conftest
from tests.chaos import control_helpers as chaos
from tests.integration.reconcile import helpers

from pyvolsync.api import validation

QUIET_SECONDS = 2.0
NAME = "bad"
REMOVE = object()
"""An edit's value that removes the field."""

SOURCE: dict[str, Any] = {
    "sourcePVC": "data",
    "trigger": {"manual": "one"},
    "restic": {"repository": "repo", "copyMethod": "Direct"},
}
DESTINATION: dict[str, Any] = {
    "trigger": {"manual": "one"},
    "restic": {
        "repository": "repo",
        "copyMethod": "Direct",
        "capacity": "1Gi",
        "accessModes": ["ReadWriteOnce"],
    },
}


@dataclasses.dataclass(frozen=True)
class Case:
    """One broken field: the kind, the edit (dotted path under spec -> value) and the field the
    answer must name."""

    kind: str
    edits: tuple[tuple[str, Any], ...]
    field: str

    def manifest(self) -> dict[str, Any]:
        spec = copy.deepcopy(SOURCE if self.kind == "ReplicationSource" else DESTINATION)
        for path, value in self.edits:
            *parents, leaf = path.split(".")
            node = spec
            for key in parents:
                node = node.setdefault(key, {})
            if value is REMOVE:
                node.pop(leaf, None)
            else:
                node[leaf] = value
        return helpers.manifest(helpers.VOLSYNC, self.kind, NAME, spec)


def source(field: str, *edits: tuple[str, Any]) -> Case:
    return Case("ReplicationSource", edits, field)


def destination(field: str, *edits: tuple[str, Any]) -> Case:
    return Case("ReplicationDestination", edits, field)


def kopia_source(field: str, **kopia: Any) -> Case:
    """A fork-style kopia source with ``kopia`` fields set (or removed with REMOVE)."""
    section = {"repository": "repo", "copyMethod": "Direct"}
    return source(field, ("restic", REMOVE), ("kopia", _edited(section, kopia)))


def kopia_destination(field: str, **kopia: Any) -> Case:
    section = {"repository": "repo", "copyMethod": "Direct", "capacity": "1Gi",
               "accessModes": ["ReadWriteOnce"]}  # fmt: skip
    return destination(field, ("restic", REMOVE), ("kopia", _edited(section, kopia)))


def _edited(section: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    merged = {**section, **edits}
    return {key: value for key, value in merged.items() if value is not REMOVE}


def schedule(value: str) -> Case:
    return source("spec.trigger.schedule", ("trigger", {"schedule": value}))


# Accepted by the API server, refused by the validator: one per rule of docs/api.md's table.
INVALID = {
    "no-mover": source("spec", ("restic", REMOVE)),
    "two-movers": source("spec", ("rclone", {"rcloneConfig": "rclone-secret"})),
    "mover-beside-external": destination("spec", ("external", {"provider": "example.com/x"})),
    **{
        f"only-{mover}": source(f"spec.{mover}", ("restic", REMOVE), (mover, {}))
        for mover in ("rsync", "rsyncTLS", "rclone", "syncthing")
    },
    "schedule-unknown-descriptor": schedule("@hourlyX"),
    "schedule-six-fields": schedule("*/5 * * * * *"),
    "schedule-word": schedule("foo 1 2 3 4 5"),
    "schedule-no-spaces": schedule("*****"),
    "schedule-minute-61": schedule("61 * * * *"),
    "schedule-weekday-8": schedule("0 0 * * 8"),
    "schedule-step-0": schedule("*/0 * * * *"),
    "source-without-repository": source("spec.restic.repository", ("restic.repository", REMOVE)),
    "destination-without-repository": destination(
        "spec.restic.repository", ("restic.repository", REMOVE)
    ),
    "source-without-copy-method": source("spec.restic.copyMethod", ("restic.copyMethod", REMOVE)),
    "destination-without-copy-method": destination(
        "spec.restic.copyMethod", ("restic.copyMethod", REMOVE)
    ),
    "destination-clone": destination("spec.restic.copyMethod", ("restic.copyMethod", "Clone")),
    "without-source-pvc": source("spec.sourcePVC", ("sourcePVC", REMOVE)),
    "negative-prune-interval": source(
        "spec.restic.pruneIntervalDays", ("restic.pruneIntervalDays", -1)
    ),
    **{
        f"negative-retain-{count}": source(
            f"spec.restic.retain.{count}", (f"restic.retain.{count}", -1)
        )
        for count in validation.RETENTION_COUNTS
    },
    "negative-previous": destination("spec.restic.previous", ("restic.previous", -1)),
    "within-with-a-space": source("spec.restic.retain.within", ("restic.retain.within", "7 days")),
    "within-in-weeks": source("spec.restic.retain.within", ("restic.retain.within", "1w")),
    "last-a-word": source("spec.restic.retain.last", ("restic.retain.last", "five")),
    "last-with-a-flag": source(
        "spec.restic.retain.last", ("restic.retain.last", "5 --keep-daily 0")
    ),
    "destination-without-capacity": destination(
        "spec.restic.capacity", ("restic.capacity", REMOVE)
    ),
    "destination-without-access-modes": destination(
        "spec.restic.accessModes", ("restic.accessModes", REMOVE)
    ),
    # The kopia fork's fields (issue 12's bad input).
    "restic-and-kopia": source("spec", ("kopia", {"repository": "repo", "copyMethod": "Direct"})),
    "kopia-unknown-compression": kopia_source("spec.kopia.compression", compression="brotli"),
    "kopia-args-change-the-password": kopia_source(
        "spec.kopia.additionalArgs[0]", additionalArgs=["--password=other"]
    ),
    "kopia-args-change-the-repository": kopia_source(
        "spec.kopia.additionalArgs[1]",
        additionalArgs=["--parallel=4", "--config-file=/tmp/other.config"],
    ),
    "kopia-destination-without-repository-or-source": kopia_destination(
        "spec.kopia.repository", repository=REMOVE
    ),
}

# Refused by the API server itself (the CRD's pattern, enum, format or type).
REFUSED = {
    "kopia-restore-as-of-not-rfc3339": kopia_destination(
        "spec.kopia.restoreAsOf", restoreAsOf="yesterday"
    ),
    "kopia-relative-source-path": kopia_source(
        "spec.kopia.sourcePathOverride", sourcePathOverride="data"
    ),
    "kopia-bad-hostname": kopia_source("spec.kopia.hostname", hostname="-nas"),
    "kopia-bad-username": kopia_source("spec.kopia.username", username="my app!"),
    "schedule-every": schedule("@every 5m"),
    "schedule-reboot": schedule("@reboot"),
    "schedule-month-name": schedule("0 0 * FOO *"),
    "schedule-day-name": schedule("0 3 * * MON"),
    "schedule-empty": schedule(""),
    "copy-method-unknown": source("spec.restic.copyMethod", ("restic.copyMethod", "Copy")),
    "retain-count-as-text": source("spec.restic.retain.daily", ("restic.retain.daily", "7")),
    **{
        f"restore-as-of-{label}": destination(
            "spec.restic.restoreAsOf", ("restic.restoreAsOf", value)
        )
        for label, value in (
            ("a-word", "yesterday"),
            ("a-date", "2024-05-01"),
            ("no-offset", "2024-05-01T00:00:00"),
            ("a-space", "2024-05-01 00:00:00Z"),
            ("month-13", "2024-13-01T00:00:00Z"),
        )
    },
}


def validate(case: Case) -> list[validation.Problem]:
    manifest = case.manifest()
    if case.kind == "ReplicationSource":
        return validation.validate_source(manifest)
    return validation.validate_destination(manifest)


def assert_nothing_started(plane: controlplane.ControlPlane, namespace: str) -> None:
    """For a while, no Job appears; the operator never created anything in `namespace`."""
    deadline = time.monotonic() + QUIET_SECONDS
    while time.monotonic() < deadline:
        assert helpers.mover_jobs(plane, namespace) == []
        time.sleep(0.5)
    for resource in ("jobs", "persistentvolumeclaims", "volumesnapshots", "serviceaccounts"):
        assert chaos.operator_writes(plane, namespace, resource=resource) == [], resource


@pytest.mark.parametrize("case", INVALID.values(), ids=INVALID.keys())
def test_an_invalid_field_is_named_once_and_starts_nothing(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: conftest.Operator,
    case: Case,
) -> None:
    assert [problem.path for problem in validate(case)] == [case.field]
    apply(cluster, case.manifest(), namespace=namespace)

    kind = case.kind.lower()
    condition = helpers.wait_for_reason(cluster, kind, NAME, namespace, "Error", timeout=60)
    assert condition["status"] == "False"
    assert condition["message"].startswith(f"At '{case.field}': ")
    assert condition["message"].count("At '") == 1, condition["message"]
    assert [item["type"] for item in chaos.conditions(cluster, kind, NAME, namespace)] == [
        "Synchronizing"
    ]
    wait_until(
        lambda: chaos.warnings(cluster, namespace, NAME),
        what="a Warning event about the bad field",
    )
    assert_nothing_started(cluster, namespace)
    assert chaos.warnings(cluster, namespace, NAME) == [
        ("ConfigurationError", condition["message"])
    ]
    assert "lastSyncStartTime" not in helpers.status(cluster, kind, NAME, namespace)


@pytest.fixture(scope="module")
def refusing_namespace(cluster: controlplane.ControlPlane, crds: None) -> Iterator[str]:
    """One namespace for the cases the API server refuses (nothing is ever created in it)."""
    name = f"refused-{int(time.time())}"
    cluster.kubectl("create", "namespace", name)
    yield name
    with contextlib.suppress(subprocess.CalledProcessError):
        cluster.kubectl("delete", "namespace", name, "--wait=false")


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_a_value_the_schema_forbids_is_refused_at_apply(
    cluster: controlplane.ControlPlane, refusing_namespace: str, case: Case
) -> None:
    payload = json.dumps(case.manifest())
    refused = cluster.kubectl(
        "apply", "--server-side", "-n", refusing_namespace, "-f", "-",
        input_text=payload, check=False,
    )  # fmt: skip
    assert refused.returncode != 0, refused.stdout
    assert case.field in refused.stderr, refused.stderr
    assert get(cluster, case.kind.lower(), NAME, namespace=refusing_namespace) is None
