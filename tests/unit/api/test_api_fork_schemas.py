"""Our CRDs accept what the perfectra1n/volsync fork's (upstream plus kopia) accept, field by field.

The fork's schemas (tests/unit/api/data, see forkschemas.py) give every mover section's field
names, types, enums, patterns, bounds and required fields. Ours must be the same, except for
pyvolsync's own status additions and the fork's KopiaMaintenance defaults, which we leave out
on purpose (docs/api.md says why).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from tests.unit.api import forkschemas

from pyvolsync.api import crdgen

OURS = {
    document["spec"]["names"]["kind"]: forkschemas.reduced(forkschemas.crd_schema(document))
    for document in (yaml.safe_load(text) for text in crdgen.render().values())
    if document["kind"] == "CustomResourceDefinition"
}
FORK = forkschemas.load()
SYNC_STATUS_ADDITIONS = (
    "observedGeneration",
    "lastSyncResult",
    "progress",
    "lastFailureTime",
    "consecutiveFailures",
    "recentSyncs",
)
FORK_DEFAULTS = {
    "activeDeadlineSeconds": 10800,
    "enabled": True,
    "failedJobsHistoryLimit": 1,
    "schedule": "0 2 * * *",
    "successfulJobsHistoryLimit": 3,
}


def spec_fields(schema: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = schema["properties"]["spec"]["properties"]
    return fields


def without_additions(kind: str) -> dict[str, Any]:
    """Return our schema of `kind` without the status fields only pyvolsync writes."""
    schema = copy.deepcopy(OURS[kind])
    if kind == "KopiaMaintenance":
        return schema
    status = schema["properties"]["status"]["properties"]
    for name in SYNC_STATUS_ADDITIONS:
        del status[name]
    if kind == "ReplicationSource":
        del status["restic"]["properties"]["lastChecked"]
        del status["snapshots"]
        del status["anomaly"]
        del status["drill"]
        del status["hooks"]
    return schema


def without_defaults(kind: str) -> dict[str, Any]:
    """Return the fork's schema of `kind` without the defaults its KopiaMaintenance CRD applies."""
    schema = copy.deepcopy(FORK[kind])
    for field in spec_fields(schema).values():
        field.pop("default", None)
    return schema


@pytest.mark.parametrize("kind", sorted(FORK))
def test_our_schema_is_the_forks_but_for_our_status_additions(kind: str) -> None:
    assert without_additions(kind) == without_defaults(kind)


def test_the_only_defaults_are_the_forks_kopia_maintenance_ones_which_we_leave_out() -> None:
    defaults = {
        (kind, name): field["default"]
        for kind, schema in FORK.items()
        for name, field in spec_fields(schema).items()
        if "default" in field
    }
    assert defaults == {("KopiaMaintenance", name): value for name, value in FORK_DEFAULTS.items()}
    assert all("default" not in field for field in spec_fields(OURS["KopiaMaintenance"]).values())


@pytest.mark.parametrize("mover", ["rsync", "rsyncTLS", "rclone", "syncthing", "kopia"])
def test_every_mover_section_is_typed_not_free_form(mover: str) -> None:
    section = spec_fields(OURS["ReplicationSource"])[mover]
    assert "x-kubernetes-preserve-unknown-fields" not in section
    assert section["properties"]["moverResources"] == {
        forkschemas.CORE_TYPE_KEY: "ResourceRequirements"
    }


def test_the_reduction_names_core_types_and_drops_descriptions() -> None:
    kopia = spec_fields(OURS["ReplicationSource"])["kopia"]["properties"]
    assert kopia["moverAffinity"] == {forkschemas.CORE_TYPE_KEY: "Affinity"}
    assert kopia["cacheCapacity"] == {forkschemas.CORE_TYPE_KEY: "Quantity"}
    assert kopia["hostname"] == {
        "type": "string",
        "pattern": r"^[a-zA-Z0-9][a-zA-Z0-9._-]*[a-zA-Z0-9]$|^[a-zA-Z0-9]$",
    }
