"""``sync``, ``unlock``, ``pause``, ``resume`` and ``logs``: acting on one object by its spec.

Every action is a merge patch of a spec field upstream already has (``trigger.manual``,
``restic.unlock``, ``paused``), so the CLI needs no rights beyond editing the object and works
the same against upstream VolSync. ``logs`` reads the mover pod, or the log lines the last sync
left in the status once the pod is gone.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Annotated, Any

import rich.console
import typer

from pyvolsync.cli import follow, session
from pyvolsync.kube import client
from pyvolsync.movers import jobs as job_plan
from pyvolsync.planning import names

NameArgument = Annotated[str, typer.Argument(help="Name of the ReplicationSource/Destination.")]
WaitOption = Annotated[
    bool, typer.Option("--wait", help="Follow the sync to its end; exit 1 if it fails.")
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", help="Seconds to wait with --wait.", min=1)
]


def trigger_value() -> str:
    """Return a fresh ``trigger.manual`` value: the time, to the millisecond."""
    now = datetime.datetime.now(datetime.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def sync(
    name: NameArgument,
    *,
    wait: WaitOption = False,
    timeout: TimeoutOption = 3600,
    namespace: session.NamespaceOption = None,
    kind: session.KindOption = None,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """Start a sync now (sets spec.trigger.manual); with --wait, show its progress."""
    target = session.Target(kubeconfig, context, namespace)
    console = rich.console.Console()

    async def body(kube: client.Kube) -> int:
        obj = await session.find(kube, name, namespace=target.namespace_of(kube), role=kind)
        return await start_sync(kube, obj, wait=wait, timeout=timeout, console=console)

    raise typer.Exit(code=session.run(body, target))


async def start_sync(
    kube: client.Kube,
    obj: Mapping[str, Any],
    *,
    wait: bool,
    timeout: float,
    console: rich.console.Console,
    extra_spec: Mapping[str, Any] | None = None,
) -> int:
    """Set a new manual trigger (plus ``extra_spec``); follow the sync when asked or needed.

    A manual value overrides a schedule (upstream's rule), so on a scheduled object the CLI
    waits for the sync and then removes the value again, which resumes the schedule.
    """
    meta = obj["metadata"]
    kind, name, namespace = session.kind_of(obj), meta["name"], meta["namespace"]
    value = trigger_value()
    scheduled = bool(((obj.get("spec") or {}).get("trigger") or {}).get("schedule"))
    spec = {"trigger": {"manual": value}, **(extra_spec or {})}
    await kube.patch(kind, name, {"spec": spec}, namespace=namespace)
    console.print(f"{obj['kind']} {namespace}/{name}: sync requested (trigger.manual={value})")
    if scheduled and not wait:
        console.print("its schedule is suspended while trigger.manual is set: following the sync")
    if not (wait or scheduled):
        return follow.EXIT_SUCCEEDED
    followed = follow.Followed(kind, name, namespace, follow.answered(value))
    try:
        final = await follow.follow(kube, followed, timeout=timeout, console=console)
    finally:
        if scheduled:
            patch = {"spec": {"trigger": {"manual": None}}}
            await kube.patch(kind, name, patch, namespace=namespace)
    return follow.report(final, console=console, what="sync")


def unlock(
    name: NameArgument,
    *,
    wait: Annotated[
        bool,
        typer.Option("--wait", help="Also start a sync now and wait until the unlock ran."),
    ] = False,
    timeout: TimeoutOption = 3600,
    namespace: session.NamespaceOption = None,
    kind: session.KindOption = None,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """Remove stale restic locks at the start of the next sync (sets spec.restic.unlock)."""
    target = session.Target(kubeconfig, context, namespace)
    console = rich.console.Console()

    async def body(kube: client.Kube) -> int:
        obj = await session.find(kube, name, namespace=target.namespace_of(kube), role=kind)
        value = trigger_value()
        unlock_spec = {"restic": {"unlock": value}}
        if wait:
            code = await start_sync(
                kube, obj, wait=True, timeout=timeout, console=console, extra_spec=unlock_spec
            )
            found = await kube.get(
                session.kind_of(obj), name, namespace=obj["metadata"]["namespace"]
            )
            unlocked = (((found or {}).get("status") or {}).get("restic") or {}).get("lastUnlocked")
            console.print(
                "unlock ran" if unlocked == value else "[red]the unlock did not run[/red]"
            )
            return code if unlocked == value else follow.EXIT_FAILED
        await kube.patch(
            session.kind_of(obj),
            name,
            {"spec": unlock_spec},
            namespace=obj["metadata"]["namespace"],
        )
        console.print(
            f"unlock requested (spec.restic.unlock={value}); it runs at the start of the next "
            f"sync: `pyvolsync sync {name} --wait` starts one now"
        )
        return follow.EXIT_SUCCEEDED

    raise typer.Exit(code=session.run(body, target))


def _set_paused(
    name: str, target: session.Target, role: session.RoleOption | None, *, paused: bool
) -> None:
    async def body(kube: client.Kube) -> None:
        obj = await session.find(kube, name, namespace=target.namespace_of(kube), role=role)
        meta = obj["metadata"]
        await kube.patch(
            session.kind_of(obj),
            meta["name"],
            {"spec": {"paused": paused}},
            namespace=meta["namespace"],
        )
        state = "paused: no new sync starts (a running one finishes)" if paused else "resumed"
        typer.echo(f"{obj['kind']} {meta['namespace']}/{meta['name']} {state}")

    session.run(body, target)


def pause(
    name: NameArgument,
    *,
    namespace: session.NamespaceOption = None,
    kind: session.KindOption = None,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """Stop starting syncs (sets spec.paused: true)."""
    _set_paused(name, session.Target(kubeconfig, context, namespace), kind, paused=True)


def resume(
    name: NameArgument,
    *,
    namespace: session.NamespaceOption = None,
    kind: session.KindOption = None,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """Start syncing again (sets spec.paused: false)."""
    _set_paused(name, session.Target(kubeconfig, context, namespace), kind, paused=False)


async def mover_pod(kube: client.Kube, obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """Return the newest pod of the object's mover Job, or None."""
    meta = obj["metadata"]
    role = names.Role.SOURCE if session.is_source(obj) else names.Role.DESTINATION
    pods = await kube.list(
        client.Kind.POD,
        namespace=meta["namespace"],
        labels={"job-name": names.mover_job(role, meta["name"])},
    )
    if not pods:
        return None
    return max(pods, key=lambda pod: str(pod["metadata"].get("creationTimestamp", "")))


def logs(
    name: NameArgument,
    *,
    follow_log: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the mover ends.")
    ] = False,
    namespace: session.NamespaceOption = None,
    kind: session.KindOption = None,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """Print the mover's log: the running pod's, else the last sync's lines from the status."""
    target = session.Target(kubeconfig, context, namespace)

    async def body(kube: client.Kube) -> None:
        obj = await session.find(kube, name, namespace=target.namespace_of(kube), role=kind)
        pod = await mover_pod(kube, obj)
        if pod is None:
            kept = ((obj.get("status") or {}).get("latestMoverStatus") or {}).get("logs")
            if not kept:
                raise session.UserError(
                    f"no mover pod for {name!r} and no log in its status yet; start a sync "
                    f"with `pyvolsync sync {name} --wait`"
                )
            typer.secho("# no mover pod now; the last sync's log lines:", err=True, dim=True)
            typer.echo(kept.rstrip("\n"))
            return
        pod_name, pod_namespace = pod["metadata"]["name"], pod["metadata"]["namespace"]
        container = job_plan.container_name({"spec": {"template": pod}})
        if follow_log:
            async for line in kube.follow_log(
                pod_name, namespace=pod_namespace, container=container
            ):
                typer.echo(line, nl=False)
            return
        text = await kube.pod_log(pod_name, namespace=pod_namespace, container=container)
        typer.echo(text, nl=False)

    session.run(body, target)
