"""Labels, annotations and owner references every object the operator creates carries.

Upstream marks each object it creates with ``app.kubernetes.io/created-by: volsync`` (admission
policies and dashboards select on it), makes the ReplicationSource or ReplicationDestination its
controlling owner (so deleting the owner deletes everything through garbage collection, without
finalizers) and labels what is temporary with ``volsync.backube/cleanup: <owner UID>``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

CREATED_BY_LABEL = "app.kubernetes.io/created-by"
CREATED_BY_VALUE = "volsync"
CLEANUP_LABEL = "volsync.backube/cleanup"
DO_NOT_DELETE_LABEL = "volsync.backube/do-not-delete"
OPERATIONS_ANNOTATION = "pyvolsync.backube/operations"
MOVER_IMAGE_ANNOTATION = "pyvolsync.dev/mover-image"
REPOSITORY_VOLUME_ANNOTATION = "pyvolsync.dev/repository-volume"
"""On the operator's Lease: the mover image and the repository volume (JSON) its Jobs use, so
the CLI's own Jobs (``pyvolsync snapshots``) use the same wherever the operator runs."""
"""On a mover Job: the operations it was created to run, so completion credits only those."""
PRIVILEGED_MOVERS_ANNOTATION = "volsync.backube/privileged-movers"
"""On a Namespace: "true" lets movers there run as root with extra capabilities."""

JsonObject = dict[str, Any]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Owner:
    """The ReplicationSource or ReplicationDestination that owns what we create."""

    api_version: str
    kind: str
    name: str
    namespace: str
    uid: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> Owner:
        """Return the owner identity of a custom resource given as a plain object."""
        metadata = obj["metadata"]
        return cls(
            api_version=obj["apiVersion"],
            kind=obj["kind"],
            name=metadata["name"],
            namespace=metadata["namespace"],
            uid=metadata["uid"],
        )

    @property
    def key(self) -> str:
        """Return ``namespace/name``."""
        return f"{self.namespace}/{self.name}"


def owner_reference(owner: Owner) -> JsonObject:
    """Return the controlling owner reference pointing at ``owner``."""
    return {
        "apiVersion": owner.api_version,
        "kind": owner.kind,
        "name": owner.name,
        "uid": owner.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def object_metadata(
    owner: Owner,
    name: str,
    *,
    temporary: bool = False,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> JsonObject:
    """Return metadata for an object named ``name`` that ``owner`` creates in its namespace.

    A temporary object also gets the cleanup label, so it is deleted when the iteration ends.
    """
    all_labels = {CREATED_BY_LABEL: CREATED_BY_VALUE, **(labels or {})}
    if temporary:
        all_labels[CLEANUP_LABEL] = owner.uid
    metadata: JsonObject = {
        "name": name,
        "namespace": owner.namespace,
        "labels": all_labels,
        "ownerReferences": [owner_reference(owner)],
    }
    if annotations:
        metadata["annotations"] = dict(annotations)
    return metadata


def is_owned_by(obj: Mapping[str, Any], owner: Owner) -> bool:
    """Return True when ``owner`` is among the object's owner references."""
    references = obj.get("metadata", {}).get("ownerReferences") or []
    return any(reference.get("uid") == owner.uid for reference in references)
