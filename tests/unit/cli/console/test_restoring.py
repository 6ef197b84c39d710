"""The console's restore plan: a new PVC shaped like the app's, the destination that fills it
from the chosen snapshot, and the names it refuses."""

from __future__ import annotations

import pytest

from pyvolsync import contract
from pyvolsync.cli import session
from pyvolsync.cli.console import restoring

SOURCE = {
    "apiVersion": "volsync.backube/v1alpha1",
    "kind": "ReplicationSource",
    "metadata": {"name": "app", "namespace": "team-a"},
    "spec": {"sourcePVC": "data", "restic": {"repository": "restic-config",
             "moverSecurityContext": {"runAsUser": 1000}}},
}  # fmt: skip
CLAIM = {"spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                  "resources": {"requests": {"storage": "5Gi"}}}}  # fmt: skip
SNAPSHOT = contract.CatalogEntry(id="0ab4bec5deadbeef", time="2026-12-07T03:00:04Z", size=1024)


def test_the_plan_is_a_new_pvc_like_the_apps_and_a_destination_as_of_the_snapshot() -> None:
    chosen = restoring.plan(SOURCE, CLAIM, SNAPSHOT, claim="data-restored")
    assert chosen.claim["metadata"] == {"name": "data-restored", "namespace": "team-a"}
    assert (chosen.size, chosen.claim["spec"]["storageClassName"]) == ("5Gi", "fast")
    assert chosen.destination_name == "data-restored-restore"
    section = chosen.spec["restic"]
    assert section["restoreAsOf"] == "2026-12-07T03:00:04Z"
    assert section["destinationPVC"] == "data-restored"
    assert section["repository"] == "restic-config"
    assert section["moverSecurityContext"] == {"runAsUser": 1000}
    assert chosen.spec["trigger"]["manual"]


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("data", "the app's own volume"),
        ("Data_Copy", "cannot name a PVC"),
        ("x" * 56, "cannot name a PVC"),
    ],
)
def test_names_the_console_refuses(name: str, said: str) -> None:
    with pytest.raises(session.UserError, match=said):
        restoring.check_claim_name(name, source_claim="data")
