"""Generate the CustomResourceDefinitions in deploy/crds/ from the API models.

The models are the one source of truth; this module turns their JSON schema (as pydantic emits
it) into the structural OpenAPI schema a CRD needs: references inlined, optional fields as plain
types, no titles or defaults (upstream's CRDs apply no defaults), and the Kubernetes core types
swapped for their full schemas from `kubeschemas`. `make crds` runs it; a test fails when the
committed files differ from what it generates.

    python -m pyvolsync.api.crdgen deploy/crds
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import pydantic
import yaml

from pyvolsync.api import destination, kubeschemas, maintenance, resources, source, wire

HEADER = "# Generated from src/pyvolsync/api by `make crds` (pyvolsync.api.crdgen); do not edit.\n"

# Schema keywords a CRD node keeps; titles and defaults that pydantic emits are dropped.
KEPT_KEYWORDS = frozenset(
    {
        "description",
        "type",
        "format",
        "enum",
        "pattern",
        "minimum",
        "maximum",
        "minLength",
        "minItems",
        "maxItems",
        "required",
        "anyOf",
        "x-kubernetes-int-or-string",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-list-type",
        "x-kubernetes-map-type",
    }
)
NULL_SCHEMA: Mapping[str, Any] = {"type": "null"}


def openapi_schema(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """Given a top-level resource model, return the CRD's `openAPIV3Schema` for it."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    definitions: Mapping[str, Any] = raw.pop("$defs", {})
    schema = _structural(raw, definitions)
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


def _expand(node: Mapping[str, Any], definitions: Mapping[str, Any]) -> dict[str, Any]:
    """Resolve references and optional (`X | None`) unions until the node is a plain schema."""
    current = dict(node)
    while True:
        siblings = {key: value for key, value in current.items() if key not in ("$ref", "anyOf")}
        if "$ref" in current:
            target = definitions[str(current["$ref"]).rsplit("/", 1)[-1]]
            current = {**target, **siblings}
            continue
        options = [option for option in current.get("anyOf", ()) if option != NULL_SCHEMA]
        if "anyOf" in current and len(options) == 1:
            current = {**options[0], **siblings}
            continue
        return current


def _structural(node: Mapping[str, Any], definitions: Mapping[str, Any]) -> dict[str, Any]:
    """Return the structural CRD schema of one pydantic JSON-schema node."""
    expanded = _expand(node, definitions)
    kube_type = expanded.get(wire.KUBE_TYPE_KEY)
    if kube_type is not None:
        return _kube_schema(str(kube_type), expanded.get("description"))
    result = {key: value for key, value in expanded.items() if key in KEPT_KEYWORDS}
    if "required" in result:
        result["required"] = sorted(result["required"])
    if "properties" in expanded:
        result["properties"] = {
            name: _structural(child, definitions) for name, child in expanded["properties"].items()
        }
    if "items" in expanded:
        result["items"] = _structural(expanded["items"], definitions)
    if isinstance(expanded.get("additionalProperties"), Mapping):
        result["additionalProperties"] = _structural(expanded["additionalProperties"], definitions)
    return result


def _kube_schema(name: str, description: str | None) -> dict[str, Any]:
    """Return the full schema of core type `name`, described by the field when it says more."""
    schema = kubeschemas.schema(name)
    if description:
        schema["description"] = description
    return schema


def column(name: str, json_path: str, kind: str = "string", **extra: str) -> dict[str, str]:
    """Return one printer column of `kubectl get`."""
    return {"name": name, "type": kind, **extra, "jsonPath": json_path}


def sync_columns(*, with_source: bool) -> list[dict[str, str]]:
    """Return upstream's `kubectl get` columns plus Result; `Source` and `Snapshots` (how many
    the repository keeps) only on sources."""
    columns = [
        column("Source", ".spec.sourcePVC"),
        column("Last sync", ".status.lastSyncTime", format="date-time"),
        column("Duration", ".status.lastSyncDuration"),
        column("Next sync", ".status.nextSyncTime", format="date-time"),
        column("Result", ".status.latestMoverStatus.result"),
    ]
    if not with_source:
        return columns[1:]
    return [*columns, column("Snapshots", ".status.snapshots.count", "integer")]


def maintenance_columns() -> list[dict[str, str]]:
    """Return the fork's KopiaMaintenance columns, Schedule read from trigger.schedule."""
    return [
        column("Repository", ".spec.repository.repository"),
        column("Enabled", ".spec.enabled", "boolean"),
        column("Schedule", ".spec.trigger.schedule"),
        column("Suspended", ".spec.suspend", "boolean"),
        column("Last Maintenance", ".status.lastMaintenanceTime", format="date-time"),
        column("Age", ".metadata.creationTimestamp", "date"),
    ]


def definition(
    model: type[pydantic.BaseModel], *, kind: str, plural: str, columns: list[dict[str, str]]
) -> dict[str, Any]:
    """Return the CustomResourceDefinition of one resource model."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{resources.GROUP}"},
        "spec": {
            "group": resources.GROUP,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": resources.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": openapi_schema(model)},
                }
            ],
        },
    }


def definitions() -> dict[str, dict[str, Any]]:
    """Return every CRD keyed by file name (upstream's naming: <group>_<plural>.yaml)."""
    table: tuple[tuple[type[pydantic.BaseModel], str, str, list[dict[str, str]]], ...] = (
        (
            source.ReplicationSource,
            resources.SOURCE_KIND,
            resources.SOURCE_PLURAL,
            sync_columns(with_source=True),
        ),
        (
            destination.ReplicationDestination,
            resources.DESTINATION_KIND,
            resources.DESTINATION_PLURAL,
            sync_columns(with_source=False),
        ),
        (
            maintenance.KopiaMaintenance,
            resources.MAINTENANCE_KIND,
            resources.MAINTENANCE_PLURAL,
            maintenance_columns(),
        ),
    )
    return {
        f"{resources.GROUP}_{plural}.yaml": definition(
            model, kind=kind, plural=plural, columns=columns
        )
        for model, kind, plural, columns in table
    }


def render() -> dict[str, str]:
    """Return the text of every file in deploy/crds/, keyed by file name."""
    files = {
        name: HEADER + yaml.safe_dump(crd, sort_keys=True, width=100, allow_unicode=True)
        for name, crd in definitions().items()
    }
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": sorted(files),
    }
    files["kustomization.yaml"] = HEADER + yaml.safe_dump(kustomization, sort_keys=False)
    return files


def write(directory: pathlib.Path) -> list[pathlib.Path]:
    """Write every generated file into `directory`; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Write the CRDs into the directory given on the command line."""
    parser = argparse.ArgumentParser(description="Generate the pyvolsync CRDs.")
    parser.add_argument("directory", type=pathlib.Path)
    arguments = parser.parse_args(argv)
    for path in write(arguments.directory):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
