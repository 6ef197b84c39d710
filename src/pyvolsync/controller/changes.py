"""Which watch events are worth a reconcile of the ReplicationSource or Destination they concern.

Every status write of the operator comes back to it as a watch event. Reconciling again for it
cannot change anything, since status is what a reconcile writes, not what it is told to do; yet
it costs a read of the object and of its mover (three to five requests while a sync runs) and
puts the object in the work queue again, ahead of sources that were actually triggered. With a
thousand sources that doubles the work of every sync. So, like controller-runtime's
generation-changed predicate, an event of a source or destination is worth a reconcile only when
something a user or another controller decides changed: the generation (the spec), labels,
annotations, the deletion mark or the finalizers.

A mover Job changes its status five or six times in its life (active, ready, terminating,
counters, conditions); the reconciler acts only on its conditions (complete, failed, failing),
on a failed attempt (the failed counter) and on its deletion. Progress of a running mover is
read on the reconciler's own timer (``--progress-interval``), not on Job events.

An object new to this operator (including every object of the listing at start-up) and a
deleted one are worth a reconcile, except a new Job without an outcome yet: the reconcile that
created it has already asked to look again. Nothing is lost by skipping the rest: reconciles of one
object never overlap (the work queue), and each reads the object fresh from the API server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

Fingerprint = Callable[[Mapping[str, Any]], object]


def desired_state(body: Mapping[str, Any]) -> object:
    """What a user or another controller decides about a source or destination."""
    meta = body.get("metadata") or {}
    return [
        meta.get("generation"),
        meta.get("labels") or {},
        meta.get("annotations") or {},
        meta.get("deletionTimestamp"),
        meta.get("finalizers") or [],
    ]


def job_outcome(body: Mapping[str, Any]) -> object:
    """What the reconciler acts on in a mover Job: its conditions, failed attempts, deletion."""
    status = body.get("status") or {}
    conditions = sorted(
        (str(item.get("type")), str(item.get("status"))) for item in status.get("conditions") or []
    )
    deleting = (body.get("metadata") or {}).get("deletionTimestamp")
    return [conditions, status.get("failed") or 0, deleting]


class Changes:
    """Remembers, per object, the fingerprint of its last event.

    ``fresh`` is the fingerprint of an object nobody has acted on yet: a new object that still
    looks like that is not worth a reconcile (a Job the operator just created).
    """

    def __init__(self, fingerprint: Fingerprint, *, fresh: object = None) -> None:
        self._fingerprint = fingerprint
        self._fresh = None if fresh is None else _encode(fresh)
        self._seen: dict[str, str] = {}

    def worth_reconciling(self, body: Mapping[str, Any], *, event_type: str | None) -> bool:
        """Return False only for an event whose fingerprint repeats the previous event's."""
        meta = body.get("metadata") or {}
        identity = str(meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}")
        if event_type == "DELETED":
            self._seen.pop(identity, None)
            return True
        fingerprint = _encode(self._fingerprint(body))
        if self._seen.get(identity, self._fresh) == fingerprint:
            self._seen[identity] = fingerprint
            return False
        self._seen[identity] = fingerprint
        return True

    def __len__(self) -> int:
        return len(self._seen)


def _encode(fingerprint: object) -> str:
    return json.dumps(fingerprint, sort_keys=True, default=str)


def spec_changes() -> Changes:
    """Return the filter for ReplicationSource and ReplicationDestination events."""
    return Changes(desired_state)


def job_changes() -> Changes:
    """Return the filter for mover Job events: a new Job with no outcome yet is not worth one
    (the reconcile that created it asked to look again)."""
    return Changes(job_outcome, fresh=job_outcome({}))
