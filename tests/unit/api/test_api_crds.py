"""The committed CRDs are what the models generate, structural, and accept the whole corpus."""

from __future__ import annotations

import functools
import pathlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from pyvolsync.api import crdgen, kubeschemas

ROOT = pathlib.Path(__file__).parents[3]
CRD_DIR = ROOT / "deploy" / "crds"
CORPUS = ROOT / "tests" / "corpus"
GENERATED = crdgen.render()


@functools.cache
def crd(kind: str) -> dict[str, Any]:
    """Return the committed CRD of `kind` (parsed once; callers must not change it)."""
    for path in sorted(CRD_DIR.glob("volsync.backube_*.yaml")):
        document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        if document["spec"]["names"]["kind"] == kind:
            return document
    raise AssertionError(f"no CRD for {kind}")


def schema(kind: str) -> dict[str, Any]:
    openapi: dict[str, Any] = crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return openapi


def test_committed_files_are_exactly_what_make_crds_generates() -> None:
    committed = {path.name: path.read_text(encoding="utf-8") for path in CRD_DIR.iterdir()}
    assert sorted(committed) == sorted(GENERATED), "run `make crds`"
    for name, text in GENERATED.items():
        assert committed[name] == text, f"deploy/crds/{name} is stale; run `make crds`"


def test_writing_into_a_directory_produces_the_same_bytes(tmp_path: pathlib.Path) -> None:
    written = crdgen.write(tmp_path)
    assert {path.name: path.read_bytes() for path in written} == {
        name: text.encode() for name, text in GENERATED.items()
    }


def nodes(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield every schema node with its path."""
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from nodes(child, f"{path}.{name}")
    if "items" in node:
        yield from nodes(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from nodes(node["additionalProperties"], f"{path}{{}}")


@pytest.mark.parametrize(
    "kind", ["ReplicationSource", "ReplicationDestination", "KopiaMaintenance"]
)
def test_schemas_are_structural(kind: str) -> None:
    for path, node in nodes(schema(kind)):
        assert not {"$ref", "allOf", "oneOf", "not", "default", "title"} & set(node), path
        if node.get("x-kubernetes-int-or-string"):
            assert node["anyOf"] == [{"type": "integer"}, {"type": "string"}], path
            continue
        assert "anyOf" not in node, path
        assert node.get("type") in {"object", "array", "string", "integer", "number", "boolean"}
        if node["type"] == "array":
            assert "items" in node, path
        if "properties" in node:
            assert "additionalProperties" not in node, path
        for key in node.get("x-kubernetes-list-map-keys", ()):
            assert key in node["items"].get("required", ()), path


@pytest.mark.parametrize("kind", ["ReplicationSource", "ReplicationDestination"])
def test_embedded_core_types_keep_their_full_schema(kind: str) -> None:
    restic = schema(kind)["properties"]["spec"]["properties"]["restic"]["properties"]
    affinity = restic["moverAffinity"]["properties"]
    node_terms = affinity["nodeAffinity"]["properties"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["properties"]["nodeSelectorTerms"]
    assert node_terms["items"]["properties"]["matchExpressions"]["items"]["required"] == [
        "key",
        "operator",
    ]
    context = restic["moverSecurityContext"]["properties"]
    assert context["runAsUser"] == {**context["runAsUser"], "type": "integer", "format": "int64"}
    limits = restic["moverResources"]["properties"]["limits"]["additionalProperties"]
    assert limits == kubeschemas.QUANTITY_SCHEMA
    volume = restic["moverVolumes"]["items"]["properties"]["volumeSource"]["properties"]
    assert volume["nfs"]["required"] == ["path", "server"]
    assert volume["persistentVolumeClaim"]["required"] == ["claimName"]
    assert "items" in volume["secret"]["properties"]


def test_upstream_field_types_are_kept() -> None:
    spec = schema("ReplicationSource")["properties"]["spec"]["properties"]
    restic = spec["restic"]["properties"]
    assert restic["retain"]["properties"]["last"]["type"] == "string"
    assert restic["retain"]["properties"]["hourly"] == {
        **restic["retain"]["properties"]["hourly"],
        "type": "integer",
        "format": "int32",
    }
    assert restic["copyMethod"]["enum"] == ["Direct", "None", "Clone", "Snapshot"]
    assert restic["accessModes"]["minItems"] == 1
    assert "minItems" not in restic["cacheAccessModes"]
    assert spec["trigger"]["properties"]["schedule"]["pattern"] == (
        r"^(@(annually|yearly|monthly|weekly|daily|hourly))"
        r"|((((\d+,)*\d+|(\d+(\/|-)\d+)|\*(\/\d+)?)\s?){5})$"
    )
    assert spec["rsync"]["properties"]["port"] == {
        **spec["rsync"]["properties"]["port"],
        "minimum": 0,
        "maximum": 65535,
    }
    destination = schema("ReplicationDestination")["properties"]
    restore_as_of = destination["spec"]["properties"]["restic"]["properties"]["restoreAsOf"]
    assert restore_as_of["format"] == "date-time"
    assert destination["status"]["properties"]["latestImage"]["required"] == ["kind", "name"]


@pytest.mark.parametrize(
    ("kind", "columns"),
    [
        (
            "ReplicationSource",
            ["Source", "Last sync", "Duration", "Next sync", "Result", "Snapshots"],
        ),
        ("ReplicationDestination", ["Last sync", "Duration", "Next sync", "Result"]),
    ],
)
def test_resource_names_columns_and_status_subresource(kind: str, columns: list[str]) -> None:
    document = crd(kind)
    version = document["spec"]["versions"][0]
    assert document["spec"]["group"] == "volsync.backube"
    assert document["spec"]["scope"] == "Namespaced"
    assert "shortNames" not in document["spec"]["names"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}
    assert [column["name"] for column in version["additionalPrinterColumns"]] == columns
    paths = {column["name"]: column["jsonPath"] for column in version["additionalPrinterColumns"]}
    assert paths["Result"] == ".status.latestMoverStatus.result"
    assert paths.get("Snapshots", ".status.snapshots.count") == ".status.snapshots.count"


def check(value: Any, node: dict[str, Any], path: str) -> Iterator[str]:
    """Yield where `value` breaks `node` or would be pruned (a small subset of the API server)."""
    if node.get("x-kubernetes-int-or-string"):
        if not isinstance(value, int | str) or isinstance(value, bool):
            yield f"{path}: not an int or string"
        elif "pattern" in node and isinstance(value, str) and not re.search(node["pattern"], value):
            yield f"{path}: does not match {node['pattern']}"
        return
    expected = {"object": dict, "array": list, "string": str, "boolean": bool}.get(node["type"])
    numeric = node["type"] in ("integer", "number") and isinstance(value, int | float)
    if not numeric and (expected is None or not isinstance(value, expected)):
        yield f"{path}: not of type {node['type']}"
        return
    if "enum" in node and value not in node["enum"]:
        yield f"{path}: not one of {node['enum']}"
    if isinstance(value, str) and "pattern" in node and not re.search(node["pattern"], value):
        yield f"{path}: does not match {node['pattern']}"
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from check(item, node["items"], f"{path}[{index}]")
    if isinstance(value, dict):
        yield from check_object(value, node, path)


def check_object(value: dict[str, Any], node: dict[str, Any], path: str) -> Iterator[str]:
    """Yield the problems of an object value: unknown, missing or invalid fields."""
    if node.get("x-kubernetes-preserve-unknown-fields") or "properties" not in node:
        additional = node.get("additionalProperties")
        for key, item in value.items() if isinstance(additional, dict) else ():
            yield from check(item, additional, f"{path}.{key}")
        return
    for key in node.get("required", ()):
        if key not in value:
            yield f"{path}.{key}: required"
    for key, item in value.items():
        if key not in node["properties"]:
            yield f"{path}.{key}: unknown field, the API server would prune it"
        else:
            yield from check(item, node["properties"][key], f"{path}.{key}")


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*/*.yaml")), ids=lambda path: path.name)
def test_the_corpus_fits_the_generated_schema(path: pathlib.Path) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert list(check(document, schema(document["kind"]), "")) == []


def test_the_schema_check_does_catch_unknown_and_mistyped_fields() -> None:
    document = {
        "kind": "ReplicationSource",
        "spec": {"sourcePvc": "x", "restic": {"copyMethod": "Copy", "capacity": "lots"}},
    }
    assert list(check(document, schema("ReplicationSource"), "")) == [
        ".spec.sourcePvc: unknown field, the API server would prune it",
        ".spec.restic.copyMethod: not one of ['Direct', 'None', 'Clone', 'Snapshot']",
        f".spec.restic.capacity: does not match {kubeschemas.QUANTITY_PATTERN}",
    ]
