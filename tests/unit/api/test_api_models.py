"""The models read every manifest in the corpus and write it back unchanged."""

from __future__ import annotations

import datetime
import pathlib
import typing
from typing import Any

import pydantic
import pytest
import yaml

from pyvolsync.api import common, destination, maintenance, source, wire

CORPUS = pathlib.Path(__file__).parents[2] / "corpus"
MANIFESTS = sorted(CORPUS.glob("*/*.yaml"))
MODELS: dict[str, type[wire.WireModel]] = {
    "ReplicationSource": source.ReplicationSource,
    "ReplicationDestination": destination.ReplicationDestination,
    "KopiaMaintenance": maintenance.KopiaMaintenance,
}


def load(path: pathlib.Path) -> dict[str, Any]:
    """Return the one object in a corpus file."""
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def test_the_corpus_covers_both_kinds_and_every_copy_method() -> None:
    documents = [load(path) for path in MANIFESTS]
    kinds = {document["kind"] for document in documents}
    copy_methods = {
        (document["kind"], document["spec"]["restic"]["copyMethod"])
        for document in documents
        if "restic" in document["spec"]
    }
    assert kinds == set(MODELS)
    assert {("ReplicationSource", method) for method in common.COPY_METHODS} <= copy_methods
    assert {("ReplicationDestination", "Direct"), ("ReplicationDestination", "Snapshot")} <= (
        copy_methods
    )


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_a_manifest_round_trips_unchanged(path: pathlib.Path) -> None:
    document = load(path)
    parsed = MODELS[document["kind"]].model_validate(document)
    assert parsed.to_dict() == document


# Result fields that only one kind's mover reports.
BACKUP_ONLY = {
    f"status.lastSyncResult.{name}"
    for name in ("filesNew", "filesChanged", "filesUnmodified", "bytesAdded", "bytesProcessed")
} | {"status.recentSyncs.bytesAdded", "status.recentSyncs.bytesProcessed"}
RESTORE_ONLY = {f"status.lastSyncResult.{name}" for name in ("filesRestored", "bytesRestored")}


def test_the_corpus_sets_every_modelled_field() -> None:
    """Each field appears in some manifest, so the round-trip test exercises all of them."""
    not_applicable = {
        "ReplicationSource": RESTORE_ONLY,
        "ReplicationDestination": BACKUP_ONLY,
        "KopiaMaintenance": set(),
    }
    for kind, model in MODELS.items():
        documents = [load(path) for path in MANIFESTS if load(path)["kind"] == kind]
        written = {path for document in documents for path in document_paths(document)}
        assert sorted(model_paths(model) - written - not_applicable[kind]) == [], kind


def model_paths(model: type[pydantic.BaseModel], prefix: str = "") -> set[str]:
    """Return the wire path of every field of `model` and of the models nested in it."""
    paths = set()
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        paths.add(path)
        for nested in nested_models(field.annotation):
            paths |= model_paths(nested, f"{path}.")
    return paths


def nested_models(annotation: Any) -> list[type[pydantic.BaseModel]]:
    """Return the models inside a field's type (through Optional, list and Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return [annotation]
    return [model for argument in typing.get_args(annotation) for model in nested_models(argument)]


def document_paths(node: Any, prefix: str = "") -> set[str]:
    """Return the path of every key set in a manifest, lists looked through."""
    if isinstance(node, list):
        return {path for item in node for path in document_paths(item, prefix)}
    if not isinstance(node, dict):
        return set()
    paths = set()
    for key, value in node.items():
        paths.add(f"{prefix}{key}")
        paths |= document_paths(value, f"{prefix}{key}.")
    return paths


def test_python_names_build_an_object_that_serialises_with_wire_names() -> None:
    spec = source.ReplicationSourceSpec(
        source_pvc="data",
        restic=source.ResticSourceSpec(repository="secret", copy_method="Direct"),
    )
    obj = source.ReplicationSource(metadata={"name": "app", "namespace": "ns"}, spec=spec)
    assert obj.to_dict() == {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationSource",
        "metadata": {"name": "app", "namespace": "ns"},
        "spec": {"sourcePVC": "data", "restic": {"repository": "secret", "copyMethod": "Direct"}},
    }


def test_status_times_are_written_as_utc_seconds_like_metav1_time() -> None:
    status = source.ReplicationSourceStatus.model_validate(
        {"lastSyncTime": "2024-05-01T12:00:00.750+02:00"}
    )
    assert status.last_sync_time == datetime.datetime(2024, 5, 1, 10, 0, 0, 750000, datetime.UTC)
    assert status.to_dict() == {"lastSyncTime": "2024-05-01T10:00:00Z"}


def test_a_time_without_offset_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="lastSyncTime"):
        source.ReplicationSourceStatus.model_validate({"lastSyncTime": "2024-05-01T12:00:00"})


def test_values_are_not_coerced_so_a_wrongly_typed_field_is_reported() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"retain\.hourly"):
        source.ReplicationSourceSpec.model_validate({"restic": {"retain": {"hourly": "24"}}})


def test_unknown_fields_are_dropped_as_the_api_server_prunes_them() -> None:
    document = {"spec": {"sourcePVC": "data", "colour": "blue"}, "status": {"mood": "fine"}}
    parsed = source.ReplicationSource.model_validate(document)
    assert parsed.to_dict()["spec"] == {"sourcePVC": "data"}
    assert parsed.to_dict()["status"] == {}


def test_specs_are_frozen_and_status_is_writable() -> None:
    parsed = source.ReplicationSource.model_validate(
        load(CORPUS / "supported" / "source-component.yaml")
    )
    assert parsed.spec is not None
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        parsed.spec.source_pvc = "other"
    parsed.status = source.ReplicationSourceStatus(consecutive_failures=1)
    assert parsed.to_dict()["status"] == {"consecutiveFailures": 1}


def test_mover_sections_lists_what_is_set() -> None:
    spec = destination.ReplicationDestinationSpec.model_validate(
        {"restic": {}, "rsyncTLS": {}, "external": {}}
    )
    assert spec.mover_sections() == ("restic", "rsyncTLS")


def test_mover_sections_list_the_engines_first_kopia_included() -> None:
    spec = source.ReplicationSourceSpec.model_validate(
        {"syncthing": {}, "kopia": {}, "restic": {}, "rclone": {}}
    )
    assert spec.mover_sections() == ("restic", "kopia", "rclone", "syncthing")
    only_kopia = destination.ReplicationDestinationSpec.model_validate({"kopia": {}})
    assert only_kopia.mover_sections() == ("kopia",)


def test_both_engines_sections_share_the_engine_base() -> None:
    sections = (
        source.ResticSourceSpec,
        source.KopiaSourceSpec,
        destination.ResticDestinationSpec,
        destination.KopiaDestinationSpec,
    )
    assert all(issubclass(section, common.EngineSpecBase) for section in sections)


def test_a_kopia_source_reads_into_typed_fields() -> None:
    parsed = source.ReplicationSource.model_validate(
        load(CORPUS / "supported" / "source-kopia-every-field.yaml")
    )
    assert parsed.spec is not None and parsed.spec.kopia is not None
    kopia = parsed.spec.kopia
    assert (kopia.username, kopia.hostname, kopia.source_path_override) == (
        "photos",
        "family.home",
        "/photos",
    )
    assert kopia.retain is not None and kopia.retain.latest == 20
    assert kopia.metadata_cache_size_limit_mb == 4096
    assert parsed.status is not None and parsed.status.kopia is not None
    assert parsed.status.kopia.kopia_maintenance == "photos-kopia-maintenance"


def test_a_kopia_destination_lists_the_identities_it_found() -> None:
    parsed = destination.ReplicationDestination.model_validate(
        load(CORPUS / "supported" / "destination-kopia-every-field.yaml")
    )
    assert parsed.status is not None and parsed.status.kopia is not None
    found = parsed.status.kopia.available_identities or []
    assert [(item.identity, item.snapshot_count) for item in found] == [
        ("photos@family.home", 42),
        ("notes@notes", 3),
    ]
    assert found[1].latest_snapshot is None


def test_a_kopia_maintenance_needs_its_repository() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"repository\n  Field required"):
        maintenance.KopiaMaintenanceSpec.model_validate({"trigger": {"manual": "now"}})


def test_the_other_movers_refuse_what_upstreams_crd_refuses() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"rsync\.port"):
        source.ReplicationSourceSpec.model_validate({"rsync": {"port": 70000}})
    with pytest.raises(pydantic.ValidationError, match=r"syncthing\.peers\.0\.ID"):
        source.ReplicationSourceSpec.model_validate(
            {"syncthing": {"peers": [{"address": "tcp://a:22000", "introducer": False}]}}
        )


@pytest.mark.parametrize(
    ("python_name", "wire_spelling"),
    [
        ("source_pvc", "sourcePVC"),
        ("custom_ca", "customCA"),
        ("rsync_tls", "rsyncTLS"),
        ("snapshot_id", "snapshotID"),
        ("cleanup_cache_pvc", "cleanupCachePVC"),
        ("restore_as_of", "restoreAsOf"),
        ("paused", "paused"),
        ("metadata_cache_size_limit_mb", "metadataCacheSizeLimitMB"),
        ("source_pvc_name", "sourcePVCName"),
    ],
)
def test_wire_names_use_upstream_acronyms(python_name: str, wire_spelling: str) -> None:
    assert wire.wire_name(python_name) == wire_spelling
