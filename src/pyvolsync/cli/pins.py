"""``pyvolsync pin|unpin|forget NAME SNAPSHOT``: keep one snapshot for good, or drop one.

Retention removes snapshots by age; people need the exceptions: the copy from before an upgrade
that must stay, or the copy taken while the app was broken that must go. Each command runs the
engine's own ``pin``, ``unpin`` or ``forget`` operation in a short Job like ``snapshots`` does
(the password stays in the cluster), so a pin is the engine's own: a restic tag that
``forget --keep-tag`` honours, or a kopia pin that kopia's retention honours. ``forget`` shows
the snapshot and asks first; it refuses a pinned snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import rich.console
import typer

from pyvolsync import contract
from pyvolsync.cli import actions, session, snapshots, views
from pyvolsync.kube import client

SnapshotArgument = Annotated[
    str, typer.Argument(help="Snapshot ID, or its first characters (at least 4).")
]
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask to confirm (needed without a terminal).")
]


def _described(entry: contract.CatalogEntry) -> str:
    size = "" if entry.size is None else f", {views.size(entry.size)}"
    files = "" if entry.files is None else f", {entry.files} files"
    return f"snapshot {entry.id[: views.SHORT_ID_LENGTH]} of {entry.time}{size}{files}"


def _renamed(entry: contract.CatalogEntry, wanted: str) -> str:
    """Say that the engine wrote the snapshot anew (restic and kopia do on a pin change)."""
    if entry.id.startswith(wanted.strip().lower()):
        return ""
    return f" (it was {wanted.strip()}: the engine wrote it anew under a new ID)"


def _run(
    request: snapshots.Request, operation: contract.Operation, wanted: str
) -> tuple[str, contract.CatalogEntry]:
    """Run ``operation`` on the snapshot ``wanted``; return the object's namespace and the
    snapshot as it is now."""

    async def body(kube: client.Kube) -> tuple[str, contract.CatalogEntry]:
        obj = await request.find(kube)
        acted = await snapshots.run_catalog(
            kube,
            obj,
            request.options,
            operation=operation,
            snapshot=wanted,
            action=f"could not {operation} snapshot {wanted!r}",
        )
        if len(acted) != 1:
            raise session.UserError(f"{operation}: the Job printed {len(acted)} snapshots, not 1")
        return obj["metadata"]["namespace"], acted[0]

    return session.run(body, request.target)


PIN_HELP = """Pin a snapshot of NAME: retention never removes it until it is unpinned.

    Example: pyvolsync pin nextcloud 1a2b3c4d -n apps
    """
UNPIN_HELP = """Remove the pins of a snapshot of NAME: retention may remove it again.

    Example: pyvolsync unpin nextcloud 1a2b3c4d -n apps
    """


def _outcome(
    operation: contract.Operation, name: str, entry: contract.CatalogEntry, renamed: str
) -> str:
    if operation is contract.Operation.PIN:
        short = entry.id[: views.SHORT_ID_LENGTH]
        return f"is pinned{renamed}; retention keeps it until `pyvolsync unpin {name} {short}`"
    return f"is no longer pinned{renamed}; retention applies to it again"


def _pin_command(operation: contract.Operation, help_text: str) -> Callable[..., None]:
    """Return the ``pin`` or ``unpin`` command (the same options, the same Job)."""

    def command(
        name: actions.NameArgument,
        snapshot: SnapshotArgument,
        *,
        repository_nfs: snapshots.RepositoryNfsOption = None,
        mover_image: snapshots.MoverImageOption = None,
        timeout: snapshots.JobTimeoutOption = snapshots.JOB_DEADLINE_SECONDS,
        namespace: session.NamespaceOption = None,
        kind: session.KindOption = None,
        kubeconfig: session.KubeconfigOption = None,
        context: session.ContextOption = None,
    ) -> None:
        request = snapshots.Request.of(
            name=name, repository_nfs=repository_nfs, mover_image=mover_image, timeout=timeout,
            namespace=namespace, kind=kind, kubeconfig=kubeconfig, context=context,
        )  # fmt: skip
        where, entry = _run(request, operation, snapshot)
        outcome = _outcome(operation, name, entry, _renamed(entry, snapshot))
        rich.console.Console().print(
            f"{where}/{name}: {_described(entry)} {outcome}", highlight=False
        )

    command.__doc__ = help_text
    return command


pin = _pin_command(contract.Operation.PIN, PIN_HELP)
unpin = _pin_command(contract.Operation.UNPIN, UNPIN_HELP)


def _chosen(request: snapshots.Request, wanted: str) -> tuple[str, contract.CatalogEntry]:
    """List the snapshots; return the object's namespace and the one ``wanted`` names, which
    must not be pinned."""
    name = request.name

    async def body(kube: client.Kube) -> tuple[str, contract.CatalogEntry]:
        obj = await request.find(kube)
        listed = await snapshots.run_catalog(kube, obj, request.options)
        try:
            entry = contract.find_entry(listed, wanted)
        except contract.SnapshotNotFoundError as error:
            raise session.UserError(f"{error}; nothing was forgotten") from None
        if entry.pinned:
            raise session.UserError(
                f"{_described(entry)} is pinned: unpin it first (`pyvolsync unpin {name} "
                f"{entry.id[: views.SHORT_ID_LENGTH]}`); nothing was forgotten"
            )
        return obj["metadata"]["namespace"], entry

    return session.run(body, request.target)


def forget(
    name: actions.NameArgument,
    snapshot: SnapshotArgument,
    *,
    yes: YesOption = False,
    repository_nfs: snapshots.RepositoryNfsOption = None,
    mover_image: snapshots.MoverImageOption = None,
    timeout: snapshots.JobTimeoutOption = snapshots.JOB_DEADLINE_SECONDS,
    namespace: session.NamespaceOption = None,
    kind: session.KindOption = None,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """Forget one snapshot of NAME for good, after asking (a pinned one is refused); the next
    prune (kopia: maintenance) frees the data no other snapshot shares.

    Example: pyvolsync forget nextcloud 1a2b3c4d -n apps
    """
    request = snapshots.Request.of(
        name=name, repository_nfs=repository_nfs, mover_image=mover_image, timeout=timeout,
        namespace=namespace, kind=kind, kubeconfig=kubeconfig, context=context,
    )  # fmt: skip
    where, entry = _chosen(request, snapshot)
    try:
        session.confirm(
            f"Forget {_described(entry)} of {where}/{name}?",
            yes=yes,
            refusal=f"forget asks before it removes {_described(entry)}; there is no terminal "
            "to ask on: pass --yes to confirm",
        )
    except session.UserError as error:
        raise session.fail(str(error)) from None
    _, forgotten = _run(request, contract.Operation.FORGET, entry.id)
    rich.console.Console().print(
        f"{where}/{name}: {_described(forgotten)} was forgotten; the next prune frees its data",
        highlight=False,
    )
