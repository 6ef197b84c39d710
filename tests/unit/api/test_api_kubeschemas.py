"""Kubernetes' OpenAPI definitions become structural schemas a CRD can embed."""

from __future__ import annotations

import json

import pytest

from pyvolsync.api import kubeschemas

REF = "#/components/schemas/"

DEFINITIONS = {
    "io.k8s.api.core.v1.Widget": {
        "description": "A widget.",
        "type": "object",
        "required": ["size", "name"],
        "properties": {
            "name": {"type": "string", "default": ""},
            "size": {
                "allOf": [{"$ref": REF + "io.k8s.apimachinery.pkg.api.resource.Quantity"}],
                "description": "How big.",
            },
            "port": {"$ref": REF + "io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
            "since": {"$ref": REF + "io.k8s.apimachinery.pkg.apis.meta.v1.Time"},
            "parts": {
                "type": "array",
                "items": {"allOf": [{"$ref": REF + "io.k8s.api.core.v1.Part"}], "default": {}},
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "x-kubernetes-patch-strategy": "merge",
                "x-kubernetes-patch-merge-key": "name",
            },
            "labels": {"type": "object", "additionalProperties": {"type": "string", "default": ""}},
        },
        "x-kubernetes-unions": [{"discriminator": "type"}],
    },
    "io.k8s.api.core.v1.Part": {
        "description": "A part.",
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}},
        "x-kubernetes-map-type": "atomic",
    },
}  # fmt: skip


def test_references_are_inlined_and_unsupported_keywords_dropped() -> None:
    widget = kubeschemas.structural(DEFINITIONS["io.k8s.api.core.v1.Widget"], DEFINITIONS)
    assert widget == {
        "description": "A widget.",
        "type": "object",
        "required": ["name", "size"],
        "properties": {
            "name": {"type": "string"},
            "size": {**kubeschemas.QUANTITY_SCHEMA, "description": "How big."},
            "port": kubeschemas.INT_OR_STRING_SCHEMA,
            "since": {"type": "string", "format": "date-time"},
            "parts": {
                "type": "array",
                "items": {
                    "description": "A part.",
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string"}},
                    "x-kubernetes-map-type": "atomic",
                },
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
            },
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }


def test_a_real_union_cannot_be_made_structural() -> None:
    with pytest.raises(ValueError, match="structural"):
        kubeschemas.structural({"oneOf": [{"type": "string"}, {"type": "integer"}]}, {})


def test_the_committed_file_holds_every_embedded_type_in_stable_form() -> None:
    text = kubeschemas.SCHEMA_FILE.read_text(encoding="utf-8")
    document = json.loads(text)
    assert sorted(document["schemas"]) == sorted(kubeschemas.ROOT_TYPES)
    assert kubeschemas.render(document) == text
    assert "$ref" not in text
    assert '"default"' not in text


def test_condition_carries_the_go_type_validation() -> None:
    condition = kubeschemas.schema("Condition")["properties"]
    assert condition["status"]["enum"] == ["True", "False", "Unknown"]
    assert condition["reason"]["minLength"] == 1
    assert condition["message"]["maxLength"] == 32768
