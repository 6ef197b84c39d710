"""``pyvolsync restore NAME --to PVC``: put a backup back into a volume, as of a chosen time.

Restoring in VolSync means writing a ReplicationDestination by hand: the repository Secret, the
target volume's size and modes, ``restoreAsOf`` or ``previous``, a manual trigger. This command
writes it from the source (same repository and mover settings), creates the target PVC when it
does not exist, and follows the restore like ``sync --wait``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Annotated, Any

import rich.console
import typer

from pyvolsync.api import timestamps
from pyvolsync.cli import actions, follow, inplace, session, snapshots
from pyvolsync.kube import client
from pyvolsync.planning.inplace import Journal, Phase

CARRIED_FIELDS = (
    "moverSecurityContext",
    "moverServiceAccount",
    "moverPodLabels",
    "moverResources",
    "moverAffinity",
    "moverVolumes",
    "customCA",
    "cacheCapacity",
    "cacheStorageClassName",
    "cacheAccessModes",
)
"""Mover settings the restore takes from the source (they reach the same repository)."""
DEFAULT_CAPACITY = "1Gi"
SAFETY_COPIES = ("auto", "snapshot", "backup")
COPIED_FROM_ANNOTATION = "pyvolsync.dev/copied-from"
"""On a repository Secret ``--copy-secret`` made: ``<namespace>/<name>`` of the original."""


def restore_name(claim: str) -> str:
    """Return the name of the ReplicationDestination that restores into ``claim``."""
    return f"{claim}-restore"


def restore_spec(
    source_section: Mapping[str, Any],
    *,
    claim: str,
    value: str,
    as_of: str | None,
    previous: int | None,
    engine: str = "restic",
    source: tuple[str, str] = ("", ""),
) -> dict[str, Any]:
    """Return the destination's spec: the source's repository into ``claim``, trigger ``value``.

    ``engine`` is the source's section; a kopia restore also reads the source's identity
    (``source`` is its namespace and name), with its overrides.
    """
    section: dict[str, Any] = {
        "repository": source_section["repository"],
        "copyMethod": "Direct",
        "destinationPVC": claim,
        "restoreAsOf": as_of,
        "previous": previous,
    }
    section |= {key: source_section[key] for key in CARRIED_FIELDS if key in source_section}
    if engine == "kopia":
        section |= _kopia_identity(source_section, source)
    return {"trigger": {"manual": value}, engine: section}


def _kopia_identity(source_section: Mapping[str, Any], source: tuple[str, str]) -> dict[str, Any]:
    """The source's identity as a kopia destination names it."""
    namespace, name = source
    identity: dict[str, Any] = {"sourceName": name, "sourceNamespace": namespace}
    if source_section.get("sourcePathOverride"):
        identity["sourcePathOverride"] = source_section["sourcePathOverride"]
    found: dict[str, Any] = {"sourceIdentity": identity}
    if source_section.get("username"):  # the source's own overrides win, as on the source
        found["username"] = source_section["username"]
        found["hostname"] = source_section.get("hostname") or namespace
    return found


def claim_manifest(
    claim: str,
    *,
    source_section: Mapping[str, Any],
    source_claim: Mapping[str, Any] | None,
    capacity: str | None,
) -> dict[str, Any]:
    """Return a new PVC sized and shaped like the source's volume (or ``capacity``)."""
    claim_spec = (source_claim or {}).get("spec") or {}
    size = (
        capacity
        or source_section.get("capacity")
        or ((claim_spec.get("resources") or {}).get("requests") or {}).get("storage")
        or DEFAULT_CAPACITY
    )
    spec: dict[str, Any] = {
        "accessModes": source_section.get("accessModes")
        or claim_spec.get("accessModes")
        or ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    }
    storage_class = source_section.get("storageClassName") or claim_spec.get("storageClassName")
    if storage_class:
        spec["storageClassName"] = storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": claim},
        "spec": spec,
    }


def check_as_of(text: str | None) -> str | None:
    """Return ``text`` if it is an RFC 3339 time with a zone; raise UserError otherwise."""
    if text is None:
        return None
    parsed = timestamps.parse_time(text)
    if parsed is None or parsed.tzinfo is None or "T" not in text:
        raise session.UserError(
            f"--as-of {text!r} is not an RFC 3339 time; write e.g. 2026-11-25T03:00:00Z"
        )
    return text


def restore(
    name: actions.NameArgument,
    *,
    to: Annotated[
        str | None, typer.Option("--to", help="PVC to restore into; created if missing.")
    ] = None,
    path: Annotated[
        list[str] | None,
        typer.Option("--path", help="With --in-place: a file or folder to put back (repeat it)."),
    ] = None,
    in_place: Annotated[
        bool,
        typer.Option(
            "--in-place",
            help="Put the --path paths back into NAME's own PVC: stops its workloads, takes a "
            "pinned safety copy, restores, starts them again (undo: pyvolsync undo NAME).",
        ),
    ] = False,
    snapshot: Annotated[
        str, typer.Option("--snapshot", help="With --in-place: the snapshot ID (or its start).")
    ] = "",
    no_stop: Annotated[
        bool,
        typer.Option("--no-stop", help="With --in-place: restore while the app runs."),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask to confirm an in-place restore.")
    ] = False,
    safety_copy: Annotated[
        str,
        typer.Option(
            "--safety-copy",
            help="With --in-place: auto (a VolumeSnapshot when a class can take one, else a "
            "pinned backup), snapshot or backup.",
        ),
    ] = "auto",
    repository_nfs: snapshots.RepositoryNfsOption = None,
    mover_image: snapshots.MoverImageOption = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Newest snapshot at or before this RFC 3339 time."),
    ] = None,
    previous: Annotated[
        int | None,
        typer.Option("--previous", min=0, help="Go this many snapshots further back."),
    ] = None,
    capacity: Annotated[
        str | None,
        typer.Option("--capacity", help="Size of a new PVC (default: the source volume's)."),
    ] = None,
    to_namespace: Annotated[
        str | None,
        typer.Option(
            "--to-namespace", help="Restore into a PVC of this namespace (default: NAME's)."
        ),
    ] = None,
    copy_secret: Annotated[
        bool,
        typer.Option(
            "--copy-secret",
            help="With --to-namespace: copy the repository Secret there when it is missing.",
        ),
    ] = False,
    wait: actions.WaitOption = False,
    timeout: actions.TimeoutOption = 3600,
    namespace: session.NamespaceOption = None,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """Restore NAME's backups into a PVC with a ReplicationDestination (<PVC>-restore), in
    NAME's namespace or another one; or put chosen paths back into NAME's own PVC (--in-place).

    Example: pyvolsync restore nextcloud --to nextcloud-copy --to-namespace staging --copy-secret

    Example: pyvolsync restore nextcloud --in-place --path /config/config.php --snapshot 1a2b3c4d
    """
    target = session.Target(kubeconfig, context, namespace)
    console = rich.console.Console()
    if in_place or path:
        wanted = InPlaceRequest(
            paths=tuple(path or ()), snapshot=snapshot, as_of=as_of, no_stop=no_stop, yes=yes,
            safety=safety_copy,
            options=snapshots.JobOptions(
                repository_nfs=repository_nfs, mover_image=mover_image, timeout=timeout
            ),
        )  # fmt: skip
        _restore_in_place(name, wanted, in_place=in_place, to=to, target=target, console=console)
        return
    if to is None:
        raise session.fail(
            "say where to restore: --to PVC (a new or another volume), or --in-place with "
            "--path P (files and folders put back into NAME's own volume)"
        )

    async def body(kube: client.Kube) -> int:
        checked_as_of = check_as_of(as_of)
        where = target.namespace_of(kube)
        source = await session.find(kube, name, namespace=where, role=session.RoleOption.SOURCE)
        engine = session.engine_of(source)
        source_section = (source.get("spec") or {}).get(engine) or {}
        if not source_section.get("repository"):
            raise session.UserError(f"{name!r} has no spec.{engine}.repository to restore from")
        value = actions.trigger_value()
        into = to_namespace or where
        if into != where:
            await _secrets_in(
                kube, source_section, where, into, engine=engine, copy=copy_secret, console=console
            )
        await _ensure_claim(
            kube, source, claim=to, capacity=capacity, console=console, namespace=into
        )
        spec = restore_spec(
            source_section,
            claim=to,
            value=value,
            as_of=checked_as_of,
            previous=previous,
            engine=engine,
            source=(where, name),
        )
        destination_name = await apply_destination(kube, spec, claim=to, namespace=into)
        console.print(
            f"ReplicationDestination {into}/{destination_name} restores {where}/{name} into PVC "
            f"{to!r}"
        )
        if not wait:
            console.print(f"follow it with `pyvolsync status -n {into} --watch`")
            return follow.EXIT_SUCCEEDED
        followed = follow.Followed(
            client.Kind.REPLICATION_DESTINATION, destination_name, into, follow.answered(value)
        )
        final = await follow.follow(kube, followed, timeout=timeout, console=console)
        code = follow.report(final, console=console, what="restore")
        outcome = (final.get("lastSyncResult") or {}).get("outcome")
        return follow.EXIT_FAILED if outcome == "no-eligible-snapshot" else code

    raise typer.Exit(code=session.run(body, target))


async def _secrets_in(
    kube: client.Kube,
    source_section: Mapping[str, Any],
    where: str,
    into: str,
    *,
    engine: str,
    copy: bool,
    console: rich.console.Console,
) -> None:
    """Check that namespace ``into`` has the repository Secret (copying it from ``where`` when
    asked) and the custom CA the restore reads; raise UserError saying what to do otherwise."""
    if await kube.get(client.Kind.NAMESPACE, into) is None:
        raise session.UserError(f"namespace {into!r} does not exist; create it first")
    secret_name = source_section["repository"]
    if await kube.get(client.Kind.SECRET, secret_name, namespace=into) is None:
        if not copy:
            raise session.UserError(
                f"the repository Secret {secret_name!r} does not exist in namespace {into!r}: "
                f"pass --copy-secret to copy it from {where!r}, or create it there yourself"
            )
        await _copy_secret(kube, secret_name, where, into)
        console.print(f"copied Secret {where}/{secret_name} to namespace {into}")
    custom_ca = source_section.get("customCA") or {}
    for kind, key in (
        (client.Kind.SECRET, "secretName"),
        (client.Kind.CONFIG_MAP, "configMapName"),
    ):
        holder = custom_ca.get(key)
        if holder and await kube.get(kind, holder, namespace=into) is None:
            raise session.UserError(
                f"the custom CA {holder!r} (spec.{engine}.customCA.{key}) does not exist in "
                f"namespace {into!r}; copy it there first"
            )


async def _copy_secret(kube: client.Kube, name: str, where: str, into: str) -> None:
    secret = await kube.get(client.Kind.SECRET, name, namespace=where)
    if secret is None:
        raise session.UserError(f"the repository Secret {name!r} does not exist in {where!r}")
    await kube.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "namespace": into,
                "annotations": {COPIED_FROM_ANNOTATION: f"{where}/{name}"},
            },
            "type": secret.get("type") or "Opaque",
            "data": dict(secret.get("data") or {}),
        }
    )


async def _ensure_claim(
    kube: client.Kube,
    source: Mapping[str, Any],
    *,
    claim: str,
    capacity: str | None,
    console: rich.console.Console,
    namespace: str,
) -> None:
    where = namespace
    if await kube.get(client.Kind.CLAIM, claim, namespace=where) is not None:
        return
    source_claim_name = (source.get("spec") or {}).get("sourcePVC")
    source_claim = (
        await kube.get(
            client.Kind.CLAIM, source_claim_name, namespace=source["metadata"]["namespace"]
        )
        if source_claim_name
        else None
    )
    manifest = claim_manifest(
        claim,
        source_section=(source.get("spec") or {}).get(session.engine_of(source)) or {},
        source_claim=source_claim,
        capacity=capacity,
    )
    manifest["metadata"]["namespace"] = where
    await kube.create(manifest)
    size = manifest["spec"]["resources"]["requests"]["storage"]
    console.print(f"created PVC {where}/{claim} ({size})")


async def apply_destination(
    kube: client.Kube, spec: dict[str, Any], *, claim: str, namespace: str
) -> str:
    """Create the destination, or re-point an existing one at the new trigger and time."""
    name = restore_name(claim)
    existing = await kube.get(client.Kind.REPLICATION_DESTINATION, name, namespace=namespace)
    if existing is None:
        engine = next(key for key in spec if key != "trigger")
        section = {key: value for key, value in spec[engine].items() if value is not None}
        await kube.create(
            {
                "apiVersion": "volsync.backube/v1alpha1",
                "kind": "ReplicationDestination",
                "metadata": {"name": name, "namespace": namespace},
                "spec": spec | {engine: section},
            }
        )
    else:
        await kube.patch(
            client.Kind.REPLICATION_DESTINATION, name, {"spec": spec}, namespace=namespace
        )
    return name


@dataclasses.dataclass(frozen=True, kw_only=True)
class InPlaceRequest:
    """What ``restore --in-place`` was asked to do."""

    paths: tuple[str, ...]
    snapshot: str
    as_of: str | None
    no_stop: bool
    yes: bool
    safety: str
    options: snapshots.JobOptions


def _restore_in_place(
    name: str,
    wanted: InPlaceRequest,
    *,
    in_place: bool,
    to: str | None,
    target: session.Target,
    console: rich.console.Console,
) -> None:
    if not in_place or to is not None:
        raise session.fail(
            "--path restores into NAME's own volume and needs --in-place (and no --to); to get "
            "files out without touching the volume, use `pyvolsync download NAME PATH --to DIR`"
        )
    if not wanted.paths:
        raise session.fail("--in-place needs at least one --path P")
    if wanted.snapshot and wanted.as_of:
        raise session.fail("give --snapshot or --as-of, not both")
    if wanted.safety not in SAFETY_COPIES:
        raise session.fail(f"--safety-copy {wanted.safety}: choose {', '.join(SAFETY_COPIES)}")
    as_of = check_as_of(wanted.as_of)

    async def body(kube: client.Kube) -> None:
        obj = await session.find(
            kube, name, namespace=target.namespace_of(kube), role=session.RoleOption.SOURCE
        )
        step = inplace.InPlace(kube, obj, wanted.options, console)
        journal = await inplace.restore_in_place(
            step, wanted.paths, snapshot=wanted.snapshot, as_of=as_of,
            no_stop=wanted.no_stop, yes=wanted.yes, safety=wanted.safety,
        )  # fmt: skip
        console.print(
            f"restored {', '.join(journal.paths)} into PVC {step.namespace}/{step.claim} from "
            f"snapshot {journal.snapshot[:8]}; to put them back as they were: "
            f"`pyvolsync undo {step.named}`",
            highlight=False,
        )

    session.run(body, target)


def undo(
    name: actions.NameArgument,
    *,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask to confirm.")] = False,
    repository_nfs: snapshots.RepositoryNfsOption = None,
    mover_image: snapshots.MoverImageOption = None,
    timeout: actions.TimeoutOption = 3600,
    namespace: session.NamespaceOption = None,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """Put the paths of NAME's last in-place restore back as they were, from its safety copy
    (its workloads stopped meanwhile); also rolls back a restore that was interrupted.

    Example: pyvolsync undo nextcloud -n apps
    """
    target = session.Target(kubeconfig, context, namespace)
    console = rich.console.Console()
    options = snapshots.JobOptions(
        repository_nfs=repository_nfs, mover_image=mover_image, timeout=timeout
    )

    async def body(kube: client.Kube) -> None:
        obj = await session.find(
            kube, name, namespace=target.namespace_of(kube), role=session.RoleOption.SOURCE
        )
        step = inplace.InPlace(kube, obj, options, console)
        journal = await inplace.undo(step, yes=yes)
        if journal.phase is Phase.UNDONE:
            console.print(_undone(journal, step), highlight=False)

    session.run(body, target)


def _undone(journal: Journal, step: inplace.InPlace) -> str:
    """Say that the paths are back, and what became of the safety copy."""
    back = f"{', '.join(journal.paths)} are back as they were"
    if journal.volume_snapshot:
        return (
            f"{back}; the VolumeSnapshot {journal.volume_snapshot} stays (`kubectl delete "
            f"volumesnapshot {journal.volume_snapshot} -n {step.namespace}` when you no longer "
            "need it)"
        )
    if journal.safety_copy:
        short = journal.safety_copy[:8]
        return (
            f"{back}; the safety copy {short} stays pinned (`pyvolsync unpin {step.name} {short} "
            f"-n {step.namespace}` lets retention remove it)"
        )
    return f"{back} (removed: the volume was empty before the restore)"
