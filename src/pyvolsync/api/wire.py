"""The wire format shared by every API model: camelCase names, Kubernetes scalars, embedded types.

The models are the one source of truth for the custom resources: the operator parses objects
with them and `crdgen` turns them into CRD schemas. This module holds what all of them share:

- `WireModel`, the base class: Python names in code, upstream's camelCase names on the wire
  (including upstream's acronyms such as `sourcePVC`, `customCA`, `rsyncTLS`, `snapshotID`);
  unknown fields are ignored, because the API server prunes them anyway.
- Scalar types that keep a manifest's values exactly as written (no "5" -> 5 coercion) and say
  how they appear in the CRD (`int32`, `int64`, RFC 3339 times, quantities).
- The marker for the Kubernetes core types embedded whole (`kube_type`), whose schema comes
  from `kubeschemas`.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any

import pydantic

# The key that marks a schema node for replacement by a Kubernetes core type's full schema.
KUBE_TYPE_KEY = "x-pyvolsync-kube-type"

# Parts of a Python name written in capitals on the wire, as upstream's Go JSON tags do.
ACRONYMS = {"pvc": "PVC", "ca": "CA", "tls": "TLS", "id": "ID", "mb": "MB"}


def wire_name(python_name: str) -> str:
    """Given a snake_case field name, return upstream's camelCase spelling of it."""
    first, *rest = python_name.split("_")
    return first + "".join(ACRONYMS.get(part, part.capitalize()) for part in rest)


class WireModel(pydantic.BaseModel):
    """Base of every API model: camelCase aliases, docstrings as descriptions, extras ignored."""

    model_config = pydantic.ConfigDict(
        alias_generator=wire_name,
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
        extra="ignore",
        use_attribute_docstrings=True,
    )

    def to_dict(self) -> dict[str, Any]:
        """Return the object as Kubernetes would store it: wire names, unset fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class FrozenWireModel(WireModel):
    """A WireModel that cannot change after parsing: specs are read, never written, by us."""

    model_config = pydantic.ConfigDict(frozen=True)


def format_time(value: datetime.datetime) -> str:
    """Return `value` the way metav1.Time marshals: UTC, whole seconds, a trailing Z."""
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def kube_type(name: str) -> pydantic.WithJsonSchema:
    """Return the annotation that gives a field the full schema of Kubernetes type `name`."""
    return pydantic.WithJsonSchema({KUBE_TYPE_KEY: name})


# Integers keep pydantic's own schema (so bounds such as `integer_range` show in the CRD) plus
# the format controller-gen gives Go's int32 and int64.
Int32 = Annotated[int, pydantic.Strict(), pydantic.Field(json_schema_extra={"format": "int32"})]
Int64 = Annotated[int, pydantic.Strict(), pydantic.Field(json_schema_extra={"format": "int64"})]
# A Go `int`: controller-gen writes it without a format.
Integer = Annotated[int, pydantic.Strict()]
Number = Annotated[float, pydantic.Strict(), pydantic.WithJsonSchema({"type": "number"})]
Bool = Annotated[bool, pydantic.Strict()]
Str = Annotated[str, pydantic.Strict()]
# A point in time (metav1.Time): parsed from RFC 3339, written back as UTC seconds with a Z.
Time = Annotated[
    pydantic.AwareDatetime,
    pydantic.PlainSerializer(format_time, return_type=str, when_used="json"),
    pydantic.WithJsonSchema({"type": "string", "format": "date-time"}),
]
# A resource.Quantity ("1Gi", "500M", or a bare integer), kept exactly as written.
Quantity = Annotated[int | str, kube_type("Quantity")]
# A Kubernetes core type embedded whole; validated by the CRD schema, carried as plain data.
KubeObject = dict[str, Any]
StringMap = dict[str, Str]
