"""Restores that pick an older backup or clean the target, checked byte for byte.

Three backups of one volume with different contents, then destinations side by side: one with
``previous: 1`` (the backup before the newest), one with ``restoreAsOf`` between the first and
second backup (the first), and two restoring the newest into an existing ``destinationPVC`` that
holds a stray file: with ``enableFileDeletion`` the stray file is gone, without it it stays.
"""

from __future__ import annotations

import datetime
import pathlib

from localcluster import controlplane
from localcluster.testing import apply

from pyvolsync.planning import security
from reconcile import helpers

SOURCE = "replicationsource"
DESTINATION = "replicationdestination"
GENERATION = (
    "rm -rf /data/gen-* && head -c 200000 /dev/urandom > /data/gen-{tag} && "
    "mkdir -p /data/dir && echo {tag} > /data/dir/marker && " + helpers.CHECKSUM
)
# The app's files belong to the movers' user: an unprivileged mover changes only its own files.
STRAY = (
    "mkdir -p /data/dir && echo stray > /data/stray.txt && echo old > /data/dir/marker && "
    f"chown -R {security.MOVER_USER}:{security.MOVER_USER} /data"
)


def back_up_generation(
    plane: controlplane.ControlPlane, namespace: str, tag: str
) -> tuple[str, str]:
    """Write generation `tag` into the volume, back it up; return (checksum, snapshot id)."""
    checksum = helpers.run_shell(
        plane, namespace, f"write-{tag}", claim_name="data", script=GENERATION.format(tag=tag)
    )
    source = helpers.replication_source(
        "app", trigger={"manual": f"backup-{tag}"}, retain={"last": "5"}, copy_method="Direct"
    )
    apply(plane, source, namespace=namespace)
    found = helpers.wait_for_manual_sync(plane, SOURCE, "app", namespace, f"backup-{tag}")
    assert found["latestMoverStatus"]["result"] == "Successful", found
    return checksum, found["lastSyncResult"]["snapshotID"]


def between(earlier: str, later: str) -> str:
    """Return an RFC 3339 UTC time (whole seconds) strictly between two snapshot times."""
    first, second = helpers.parse_time(earlier), helpers.parse_time(later)
    assert second - first > datetime.timedelta(seconds=2), (earlier, later)
    middle = (first + (second - first) / 2).astimezone(datetime.UTC).replace(microsecond=0)
    return middle.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_restore_as_of_previous_and_file_deletion(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: object,
    repository_root: pathlib.Path,
) -> None:
    apply(
        cluster,
        helpers.repository_secret("repo", path=f"{namespace}/app"),
        helpers.claim("data"),
        helpers.claim("target-clean"),
        helpers.claim("target-keep"),
        namespace=namespace,
    )
    for target in ("target-clean", "target-keep"):
        helpers.run_shell(cluster, namespace, f"stray-{target}", claim_name=target, script=STRAY)
    generations = [back_up_generation(cluster, namespace, tag) for tag in ("one", "two", "three")]
    times = {
        item["id"]: item["time"] for item in helpers.snapshots(repository_root / namespace / "app")
    }
    (one, one_id), (two, two_id), (three, three_id) = generations
    as_of = between(times[one_id], times[two_id])

    apply(
        cluster,
        helpers.replication_destination("previous", previous=1),
        helpers.replication_destination("as-of", restoreAsOf=as_of),
        helpers.replication_destination(
            "clean", destinationPVC="target-clean", enableFileDeletion=True
        ),
        helpers.replication_destination("keep", destinationPVC="target-keep"),
        namespace=namespace,
    )
    restored = {
        name: helpers.wait_for_manual_sync(cluster, DESTINATION, name, namespace, "restore-once")
        for name in ("previous", "as-of", "clean", "keep")
    }
    for name, found in restored.items():
        assert found["latestMoverStatus"]["result"] == "Successful", (name, found)
    assert restored["previous"]["lastSyncResult"]["snapshotID"] == two_id
    assert restored["as-of"]["lastSyncResult"]["snapshotID"] == one_id
    assert restored["clean"]["lastSyncResult"]["snapshotID"] == three_id
    assert restored["clean"]["latestImage"]["name"] == "target-clean"

    def tree(claim_name: str) -> str:
        return helpers.tree_checksum(cluster, namespace, f"sum-{claim_name}", claim_name)

    assert tree("volsync-previous-dest") == two
    assert tree("volsync-as-of-dest") == one
    assert tree("target-clean") == three
    kept = tree("target-keep")
    assert "./stray.txt" in kept
    assert (
        kept.replace(
            next(line for line in kept.splitlines() if line.endswith("./stray.txt")) + "\n", ""
        )
        == three
    )
