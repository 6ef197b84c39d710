"""Two ReplicationSources writing to the same restic repository.

Upstream tells snapshots apart only by host (`volsync` for every mover) and path (`/data` for
every mover), so both sources' snapshots form one group and each one's `restic forget` applies
its retention to the other's snapshots too: with `keep-last 1`, only the source that synced last
still has a backup. pyvolsync tags every snapshot with its source (`pyvolsync-source=<ns>/<name>`)
and forgets only that source's own snapshots (and untagged ones, written by upstream), so here
each source keeps exactly its own retention. A destination cannot tell the sources apart (the API
gives it no source); restoring from such a repository takes the newest snapshot of either and
says so with a warning. The rule in docs/usage.md: one repository per source.
"""

from __future__ import annotations

import pathlib

from localcluster import controlplane
from localcluster.testing import apply
from tests.chaos import conftest, control_helpers, data_helpers
from tests.integration.reconcile import helpers

SOURCES = ("alpha", "beta")
ROUNDS = ("one", "two", "three")


def test_two_sources_sharing_a_repository_each_keep_their_own_snapshots(
    cluster: controlplane.ControlPlane,
    namespace: str,
    *,
    operator: conftest.Operator,
    repository_root: pathlib.Path,
    chaos_size: conftest.ChaosSize,
    tmp_path: pathlib.Path,
) -> None:
    repository = repository_root / namespace / "shared"
    for name in SOURCES:
        secret = helpers.repository_secret(name, path=f"{namespace}/shared")
        apply(cluster, secret, helpers.claim(name), namespace=namespace)
    taken: dict[str, dict[str, str]] = {name: {} for name in SOURCES}
    for round_ in ROUNDS:
        for name in SOURCES:
            written = control_helpers.write_data(
                cluster, namespace, chaos_size, claim=name, marker=f"{name}-{round_}"
            )
            if round_ == ROUNDS[0]:
                source = control_helpers.backup_source(name, retain={"last": "2"})
                apply(cluster, source, namespace=namespace)
            status = data_helpers.sync(cluster, namespace, name, round_)
            assert status["latestMoverStatus"]["result"] == "Successful", status
            taken[name][status["lastSyncResult"]["snapshotID"]] = written

    # Each source kept its own last two snapshots, tagged with its name; none of the other's.
    kept = {name: dict(list(snapshots.items())[-2:]) for name, snapshots in taken.items()}
    tags = data_helpers.snapshot_tags(repository)
    for name in SOURCES:
        own = {snapshot for snapshot, found in tags.items() if found == [tag(namespace, name)]}
        assert own == set(kept[name]), f"{name} kept {own}, expected {set(kept[name])}"
    data_helpers.assert_snapshots_restore(
        repository, {**kept["alpha"], **kept["beta"]}, tmp_path / "snapshots"
    )

    # A destination cannot choose between them: it restores the newest and warns.
    destination = helpers.replication_destination("restore", repository="alpha")
    apply(cluster, destination, namespace=namespace)
    restored = data_helpers.synced(
        cluster, namespace, "restore", "restore-once", kind=data_helpers.DESTINATION
    )
    newest = list(kept["beta"])[-1]
    assert restored["lastSyncResult"]["outcome"] == "succeeded-with-warnings", restored
    assert restored["lastSyncResult"]["snapshotID"] == newest
    (warning,) = restored["lastSyncResult"]["warnings"]
    assert f"2 ReplicationSources with host volsync and path /data ({namespace}/alpha, " in warning
    assert f"{newest[:8]} taken by {namespace}/beta" in warning
    assert "give each source its own repository" in warning
    (note,) = [
        note
        for reason, note in control_helpers.warnings(cluster, namespace, "restore")
        if reason == "TransferCompletedWithWarnings"
    ]
    assert warning in note
    listing = helpers.tree_checksum(cluster, namespace, "sum-restored", "volsync-restore-dest")
    assert listing == kept["beta"][newest]
    claims = {*SOURCES, *(f"volsync-src-{name}-cache" for name in SOURCES)}
    claims |= {"volsync-restore-dest", "volsync-dst-restore-cache"}
    control_helpers.assert_nothing_left(cluster, namespace, claims=claims)


def tag(namespace: str, name: str) -> str:
    return f"pyvolsync-source={namespace}/{name}"
