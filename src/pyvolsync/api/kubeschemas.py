"""The full OpenAPI schemas of the Kubernetes core types that the CRDs embed.

ReplicationSource and ReplicationDestination embed core types (a pod security context, resource
requirements, affinity, volume sources, object references, conditions). Upstream's CRDs carry the
complete schema of each, so the API server validates and prunes inside them; ours must do the same.
The schemas come from the OpenAPI documents Kubernetes publishes with its source
(`api/openapi-spec/v3/*.json`), rewritten as structural schemas: every `$ref` inlined, no
`allOf`/`oneOf`, no defaults (the CRDs apply none), only the `x-kubernetes-*` markers a CRD
accepts. The result is committed as `kube_schemas_v1_36.json` so that generating the CRDs needs
no network; this module reads it, and regenerates it when run as a program:

    cd "$(mktemp -d)" && go mod download -json k8s.io/kubernetes@v1.36.3   # prints its "Dir"
    python -m pyvolsync.api.kubeschemas --refresh DIR/api/openapi-spec/v3
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import pathlib
import sys
from collections.abc import Mapping, Sequence
from typing import Any

KUBERNETES_VERSION = "v1.36.3"
SCHEMA_FILE = pathlib.Path(__file__).with_name("kube_schemas_v1_36.json")

# The embedded types, by the short name the models use -> their OpenAPI definition name.
ROOT_TYPES: Mapping[str, str] = {
    "Affinity": "io.k8s.api.core.v1.Affinity",
    "Condition": "io.k8s.apimachinery.pkg.apis.meta.v1.Condition",
    "NFSVolumeSource": "io.k8s.api.core.v1.NFSVolumeSource",
    "PersistentVolumeClaimVolumeSource": "io.k8s.api.core.v1.PersistentVolumeClaimVolumeSource",
    "PodSecurityContext": "io.k8s.api.core.v1.PodSecurityContext",
    "ResourceRequirements": "io.k8s.api.core.v1.ResourceRequirements",
    "SecretVolumeSource": "io.k8s.api.core.v1.SecretVolumeSource",
    "SecurityContext": "io.k8s.api.core.v1.SecurityContext",
    "Toleration": "io.k8s.api.core.v1.Toleration",
    "TypedLocalObjectReference": "io.k8s.api.core.v1.TypedLocalObjectReference",
}

# The textual form of a resource.Quantity; the OpenAPI documents only say "string or number".
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
QUANTITY_SCHEMA: Mapping[str, Any] = {
    "anyOf": [{"type": "integer"}, {"type": "string"}],
    "pattern": QUANTITY_PATTERN,
    "x-kubernetes-int-or-string": True,
}
INT_OR_STRING_SCHEMA: Mapping[str, Any] = {
    "anyOf": [{"type": "integer"}, {"type": "string"}],
    "x-kubernetes-int-or-string": True,
}
TIME_SCHEMA: Mapping[str, Any] = {"type": "string", "format": "date-time"}

# Types that a CRD spells as a bare value schema instead of their OpenAPI definition.
SPECIAL_TYPES: Mapping[str, Mapping[str, Any]] = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": QUANTITY_SCHEMA,
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": INT_OR_STRING_SCHEMA,
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": TIME_SCHEMA,
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": TIME_SCHEMA,
}

# metav1.Condition's validation lives in kubebuilder markers on its Go type, not in the published
# OpenAPI documents; CRDs generated from Go (upstream's included) carry it, so ours does too.
CONDITION_RULES: Mapping[str, Mapping[str, Any]] = {
    "type": {
        "maxLength": 316,
        "pattern": (
            r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
            r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
        ),
    },
    "status": {"enum": ["True", "False", "Unknown"]},
    "observedGeneration": {"minimum": 0},
    "reason": {
        "maxLength": 1024,
        "minLength": 1,
        "pattern": r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
    },
    "message": {"maxLength": 32768},
}

# Schema keywords copied as they are; everything else (default, x-kubernetes-patch-*, unions,
# group-version-kind) is dropped because a CRD either rejects it or would act on it.
KEPT_KEYWORDS = frozenset(
    {
        "description",
        "type",
        "format",
        "required",
        "pattern",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "enum",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-map-type",
        "x-kubernetes-int-or-string",
        "x-kubernetes-preserve-unknown-fields",
    }
)


@functools.cache
def load() -> Mapping[str, Mapping[str, Any]]:
    """Return the committed structural schemas, keyed by short type name (see ROOT_TYPES)."""
    document = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    schemas: dict[str, Mapping[str, Any]] = document["schemas"]
    return schemas


def schema(name: str) -> dict[str, Any]:
    """Return a fresh copy of one embedded type's schema; raise KeyError for an unknown name."""
    if name == "Quantity":
        return copy.deepcopy(dict(QUANTITY_SCHEMA))
    return copy.deepcopy(dict(load()[name]))


def read_definitions(openapi_dir: pathlib.Path) -> dict[str, Any]:
    """Given the directory of Kubernetes' OpenAPI v3 documents, return all their definitions."""
    definitions: dict[str, Any] = {}
    for path in sorted(openapi_dir.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        definitions.update(document.get("components", {}).get("schemas", {}))
    return definitions


def structural(node: Mapping[str, Any], definitions: Mapping[str, Any]) -> dict[str, Any]:
    """Return `node` as a structural schema: references inlined, unsupported keywords dropped."""
    merged = _merge_reference(node, definitions)
    result: dict[str, Any] = {key: merged[key] for key in merged if key in KEPT_KEYWORDS}
    if "required" in result:
        result["required"] = sorted(result["required"])
    if "anyOf" in merged:
        result["anyOf"] = copy.deepcopy(merged["anyOf"])
    if "properties" in merged:
        result["properties"] = {
            name: structural(child, definitions) for name, child in merged["properties"].items()
        }
    if "items" in merged:
        result["items"] = structural(merged["items"], definitions)
    additional = merged.get("additionalProperties")
    if isinstance(additional, Mapping):
        result["additionalProperties"] = structural(additional, definitions)
    return result


def _merge_reference(node: Mapping[str, Any], definitions: Mapping[str, Any]) -> dict[str, Any]:
    """Resolve `$ref` or a one-element `allOf` into the referenced schema, siblings winning."""
    reference = node.get("$ref")
    all_of: Sequence[Mapping[str, Any]] = node.get("allOf", ())
    if reference is None and len(all_of) == 1:
        reference = all_of[0].get("$ref")
    if reference is None:
        if all_of or "oneOf" in node:
            raise ValueError(f"cannot make a structural schema from {sorted(node)}")
        return dict(node)
    name = str(reference).rsplit("/", 1)[-1]
    siblings = {key: value for key, value in node.items() if key not in ("$ref", "allOf")}
    if name in SPECIAL_TYPES:
        target: dict[str, Any] = copy.deepcopy(dict(SPECIAL_TYPES[name]))
    else:
        target = _merge_reference(definitions[name], definitions)
    return {**target, **siblings}


def build(definitions: Mapping[str, Any]) -> dict[str, Any]:
    """Given all OpenAPI definitions, return the document committed as SCHEMA_FILE."""
    schemas = {
        short_name: structural(definitions[full_name], definitions)
        for short_name, full_name in sorted(ROOT_TYPES.items())
    }
    for field, rules in CONDITION_RULES.items():
        schemas["Condition"]["properties"][field].update(rules)
    return {
        "source": f"Kubernetes {KUBERNETES_VERSION} api/openapi-spec/v3 (structural rewrite)",
        "schemas": schemas,
    }


def render(document: Mapping[str, Any]) -> str:
    """Return the stable text form of the schema document (sorted keys, trailing newline)."""
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate SCHEMA_FILE from a directory of Kubernetes OpenAPI v3 documents."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--refresh", type=pathlib.Path, required=True, metavar="OPENAPI_DIR")
    arguments = parser.parse_args(argv)
    definitions = read_definitions(arguments.refresh)
    SCHEMA_FILE.write_text(render(build(definitions)), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
