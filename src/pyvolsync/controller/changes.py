"""Which watch events of a ReplicationSource or ReplicationDestination are worth a reconcile.

Every status write of the operator comes back to it as a watch event. Reconciling again for it
cannot change anything, since status is what a reconcile writes, not what it is told to do; yet
it costs a read of the object and of its mover (three to five requests while a sync runs) and
puts the object in the work queue again, ahead of sources that were actually triggered. With a
thousand sources that doubles the work of every sync. So, like controller-runtime's
generation-changed predicate, an event is worth a reconcile only when something a user or
another controller decides changed: the generation (the spec), labels, annotations, the
deletion mark or the finalizers, or when the object is new to this operator (including every
object of the listing at start-up) or deleted.

Nothing is lost by skipping: reconciles of one object never overlap (the work queue), and each
reads the object fresh from the API server, so it always sees the operator's own last write.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class SpecChanges:
    """Remembers, per object, the parts of its last event that a reconcile acts on."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def worth_reconciling(self, body: Mapping[str, Any], *, event_type: str | None) -> bool:
        """Return False only for an event that repeats the previous one but for the status."""
        meta = body.get("metadata") or {}
        identity = str(meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}")
        if event_type == "DELETED":
            self._seen.pop(identity, None)
            return True
        fingerprint = json.dumps(
            [
                meta.get("generation"),
                meta.get("labels") or {},
                meta.get("annotations") or {},
                meta.get("deletionTimestamp"),
                meta.get("finalizers") or [],
            ],
            sort_keys=True,
        )
        if self._seen.get(identity) == fingerprint:
            return False
        self._seen[identity] = fingerprint
        return True

    def __len__(self) -> int:
        return len(self._seen)
