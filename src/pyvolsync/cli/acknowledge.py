"""``pyvolsync ack``: a person says a suspicious backup is expected, so retention may go on.

The anomaly guard holds a source's retention and prune after a backup that looked like an app
wiping its data (``status.anomaly``). Only a person can tell a wipe from an intended clean-up;
this command records their answer as an annotation naming the suspicious snapshot, which the
operator reads at once. Naming the snapshot means an acknowledgement never clears a later,
different anomaly by accident.
"""

from __future__ import annotations

from typing import Annotated

import rich.console
import typer

from pyvolsync.api import source
from pyvolsync.cli import actions, session
from pyvolsync.contract import SNAPSHOT_ID_MINIMUM
from pyvolsync.kube import client
from pyvolsync.planning import guard

SnapshotOption = Annotated[
    str | None,
    typer.Option(
        "--snapshot",
        help="The suspicious snapshot's ID (or its first 4+ characters); default: the one "
        "status.anomaly names.",
    ),
]


def ack(
    name: actions.NameArgument,
    *,
    snapshot: SnapshotOption = None,
    namespace: session.NamespaceOption = None,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """Acknowledge NAME's suspicious backup: retention and prune resume with the next backup.

    Example: pyvolsync ack nextcloud -n apps
    """
    target = session.Target(kubeconfig, context, namespace)

    async def body(kube: client.Kube) -> str:
        obj = await session.find(
            kube, name, namespace=target.namespace_of(kube), role=session.RoleOption.SOURCE
        )
        where = f"{obj['metadata']['namespace']}/{name}"
        status = source.ReplicationSource.model_validate(obj).status
        anomaly = status.anomaly if status is not None else None
        if anomaly is None or not anomaly.snapshot_id:
            raise session.UserError(
                f"ReplicationSource {where} has no suspicious backup to acknowledge"
            )
        wanted = snapshot or anomaly.snapshot_id
        if not anomaly.snapshot_id.startswith(wanted) or len(wanted) < SNAPSHOT_ID_MINIMUM:
            raise session.UserError(
                f"--snapshot {wanted!r} is not the suspicious snapshot of {where}, "
                f"{anomaly.snapshot_id[:8]}"
            )
        await kube.patch(
            client.Kind.REPLICATION_SOURCE,
            name,
            guard.acknowledgement(anomaly.snapshot_id),
            namespace=obj["metadata"]["namespace"],
        )
        return _acknowledged(obj["metadata"]["namespace"], name, anomaly)

    rich.console.Console().print(session.run(body, target), highlight=False)


def _acknowledged(namespace: str, name: str, anomaly: source.Anomaly) -> str:
    last_good = (anomaly.last_good or "")[:8]
    return (
        f"{namespace}/{name}: snapshot {(anomaly.snapshot_id or '')[:8]} acknowledged (it "
        f"looked wrong: {anomaly.reason}).\nRetention and prune resume with the next backup. "
        f"The last good snapshot {last_good} stays pinned; `pyvolsync unpin {name} {last_good} -n "
        f"{namespace}` lets retention remove it."
    )
