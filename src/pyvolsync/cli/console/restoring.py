"""The console's restore: a snapshot of a source into a new PVC, shown in full before it is done.

The plan is computed first (pure: what PVC, of what size and class, which ReplicationDestination
with which spec, which snapshot) and shown to the person; only when they confirm it are the two
objects created, with the same helpers as ``pyvolsync restore NAME --to PVC``. A whole-volume
restore never goes into a PVC that exists: the app's own volume, or anything else, is never
overwritten this way (chosen paths go back into the app's volume with the safety copy and undo
of ``inplacing``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from pyvolsync import contract
from pyvolsync.cli import actions, restore, session
from pyvolsync.kube import client

CLAIM_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
"""A PVC name the API server accepts (an RFC 1123 label, at most 63 characters here, so that
``<name>-restore`` stays a valid object name)."""
NAME_LIMIT = 55


@dataclasses.dataclass(frozen=True)
class Plan:
    """What restoring ``snapshot`` of ``source`` into a new PVC creates."""

    namespace: str
    claim: dict[str, Any]
    destination_name: str
    spec: dict[str, Any]
    snapshot: contract.CatalogEntry

    @property
    def claim_name(self) -> str:
        return str(self.claim["metadata"]["name"])

    @property
    def size(self) -> str:
        return str(self.claim["spec"]["resources"]["requests"]["storage"])


def check_claim_name(name: str, *, source_claim: str | None) -> str:
    """Return ``name`` if it can be the new PVC's; raise UserError saying what is wrong."""
    if not CLAIM_NAME.match(name) or len(name) > NAME_LIMIT:
        raise session.UserError(
            f"{name!r} cannot name a PVC: use lower-case letters, digits and '-', at most "
            f"{NAME_LIMIT} characters"
        )
    if name == source_claim:
        raise session.UserError(
            f"{name!r} is the app's own volume; restore into a new PVC (to put files back into "
            "the app's volume, use `pyvolsync restore --in-place`)"
        )
    return name


def plan(
    source: Mapping[str, Any],
    source_claim: Mapping[str, Any] | None,
    snapshot: contract.CatalogEntry,
    *,
    claim: str,
) -> Plan:
    """Return the plan of restoring ``snapshot`` of ``source`` into the new PVC ``claim``."""
    meta = source["metadata"]
    engine = session.engine_of(source)
    section = (source.get("spec") or {}).get(engine) or {}
    if not section.get("repository"):
        raise session.UserError(f"{meta['name']!r} has no spec.{engine}.repository")
    manifest = restore.claim_manifest(
        claim, source_section=section, source_claim=source_claim, capacity=None
    )
    manifest["metadata"]["namespace"] = meta["namespace"]
    spec = restore.restore_spec(
        section, claim=claim, value=actions.trigger_value(), as_of=snapshot.time, previous=None,
        engine=engine, source=(meta["namespace"], meta["name"]),
    )  # fmt: skip
    return Plan(meta["namespace"], manifest, restore.restore_name(claim), spec, snapshot)


async def carry_out(kube: client.Kube, chosen: Plan) -> None:
    """Create the PVC and the ReplicationDestination; refuse when the PVC exists already."""
    if await kube.get(client.Kind.CLAIM, chosen.claim_name, namespace=chosen.namespace):
        raise session.UserError(
            f"PVC {chosen.namespace}/{chosen.claim_name} exists already; the console restores "
            "into a new PVC only: choose another name"
        )
    await kube.create(chosen.claim)
    await restore.apply_destination(
        kube, chosen.spec, claim=chosen.claim_name, namespace=chosen.namespace
    )
