"""``pyvolsync describe NAME``: everything about one backup or restore on one screen.

It gathers what the spec's troubleshooting section reaches with five kubectl commands: the
spec, the conditions, the events about the object, the mover Job and its pod, the result the
mover reported, the cache PVC and the repository Secret. Of the Secret only the key names are
read into the output; its values never are printed.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from typing import Any

import rich.console
import rich.table
import rich.text

from pyvolsync.api import timestamps
from pyvolsync.cli import actions, session, views
from pyvolsync.kube import client
from pyvolsync.movers import jobs as job_plan
from pyvolsync.movers import registry
from pyvolsync.planning import inplace, names

EVENT_LIMIT = 10
REQUIRED_KEYS = {mover.name: mover.required_secret_keys for mover in registry.ENGINES}


def _pairs(title: str, rows: list[tuple[str, Any]]) -> rich.table.Table:
    table = rich.table.Table(
        title=title, title_justify="left", title_style="bold", box=None, show_header=False
    )
    table.add_column(style="dim")
    table.add_column()
    for key, value in rows:
        table.add_row(key, value if isinstance(value, rich.text.Text) else _plain(value))
    return table


def _plain(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


def spec_rows(obj: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Return the spec summary: volume, trigger, paused, then every setting of the engine."""
    spec = obj.get("spec") or {}
    engine = session.engine_of(obj)
    section = spec.get(engine) or {}
    volume = (
        ("sourcePVC", spec.get("sourcePVC"))
        if session.is_source(obj)
        else ("destinationPVC", section.get("destinationPVC") or "(created by the operator)")
    )
    rows: list[tuple[str, Any]] = [
        volume,
        ("trigger", views.trigger_text(spec)),
        ("paused", bool(spec.get("paused"))),
    ]
    rows += [
        (f"{engine}.{key}", value) for key, value in section.items() if key != "destinationPVC"
    ]
    return rows


def status_rows(status: Mapping[str, Any], *, now: datetime.datetime) -> list[tuple[str, Any]]:
    """Return the status summary with relative times."""
    rows: list[tuple[str, Any]] = [
        ("last sync", _when(status.get("lastSyncTime"), now)),
        ("duration", views.go_duration(status.get("lastSyncDuration"))),
        ("next sync", _when(status.get("nextSyncTime"), now)),
        ("last manual sync", status.get("lastManualSync")),
        ("running since", _when(status.get("lastSyncStartTime"), now)),
        ("progress", views.progress_text(views.progress_of(status))),
        ("consecutive failures", status.get("consecutiveFailures", 0)),
        ("last failure", _when(status.get("lastFailureTime"), now)),
    ]
    if status.get("snapshots"):
        rows.append(("snapshots kept", snapshots_text(status["snapshots"])))
    if status.get("anomaly"):
        rows.append(("SUSPICIOUS BACKUP", anomaly_text(status["anomaly"])))
    if status.get("drill"):
        rows += drill_rows(status["drill"], now=now)
    rows += hook_rows(status.get("hooks") or {}, now=now)
    if "kopia" in status:
        kopia = status.get("kopia") or {}
        return [
            *rows,
            ("identity", kopia.get("requestedIdentity")),
            ("last maintenance", kopia.get("lastMaintenance")),
            ("metadata cache limit (MiB)", kopia.get("lastConfiguredMetadataCacheSizeLimitMB")),
            ("content cache limit (MiB)", kopia.get("lastConfiguredContentCacheSizeLimitMB")),
        ]
    restic = status.get("restic") or {}
    rows += [
        ("last pruned", restic.get("lastPruned")),
        ("last unlocked", restic.get("lastUnlocked")),
        ("last check passed", restic.get("lastChecked")),
    ]
    return rows


def snapshots_text(catalog: Mapping[str, Any]) -> str:
    """Return ``status.snapshots`` in words: ``24 (1 pinned), 2026-11-26T04:00:00Z to ...``."""
    pinned = f" ({catalog['pinned']} pinned)" if catalog.get("pinned") else ""
    span = f", {catalog.get('oldest')} to {catalog.get('newest')}" if catalog.get("oldest") else ""
    return f"{catalog.get('count', 0)}{pinned}{span}"


def anomaly_text(anomaly: Mapping[str, Any]) -> str:
    """Return ``status.anomaly`` in words, with what to do."""
    snapshot, last_good = (
        str(anomaly.get("snapshotID", ""))[:8],
        str(anomaly.get("lastGood", ""))[:8],
    )
    return (
        f"snapshot {snapshot} ({anomaly.get('time')}): {anomaly.get('reason')}; {last_good} before "
        "it is pinned, retention and prune are held until `pyvolsync ack`"
    )


def drill_rows(found: Mapping[str, Any], *, now: datetime.datetime) -> list[tuple[str, Any]]:
    """Return ``status.drill`` as rows: the latest restore drill (red when it failed), the next."""
    rows: list[tuple[str, Any]] = []
    if found.get("result"):
        style = "red" if found.get("result") == "Failed" else ""
        text = (
            f"{found['result']} {_when(found.get('time'), now)}, snapshot "
            f"{str(found.get('snapshotID') or '-')[:8]}: {found.get('message', '')}"
        )
        rows.append(("last restore drill", rich.text.Text(text, style=style)))
    if found.get("nextTime"):
        rows.append(("next restore drill", _when(found.get("nextTime"), now)))
    return rows


def hook_rows(found: Mapping[str, Any], *, now: datetime.datetime) -> list[tuple[str, Any]]:
    """Return ``status.hooks`` as rows: each hook of the latest sync (red when it failed)."""
    rows: list[tuple[str, Any]] = []
    for key, label in (
        ("beforeBackup", "before-backup hook"),
        ("afterBackup", "after-backup hook"),
    ):
        run = found.get(key)
        if not run:
            continue
        if not run.get("endTime"):
            rows.append((label, f"running since {_when(run.get('startTime'), now)}"))
            continue
        style = "red" if run.get("result") == "Failed" else ""
        text = f"{run.get('result')} {_when(run['endTime'], now)}: {run.get('message', '')}"
        rows.append((label, rich.text.Text(text, style=style)))
    return rows


def _when(text: str | None, now: datetime.datetime) -> str:
    when = timestamps.parse_time(text)
    return f"{text} ({views.relative(when, now=now)})" if when else "-"


def result_rows(status: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Return the mover's result document as the status keeps it."""
    mover = status.get("latestMoverStatus") or {}
    rows: list[tuple[str, Any]] = [("result", mover.get("result"))]
    rows += [(key, value) for key, value in (status.get("lastSyncResult") or {}).items()]
    return rows


def conditions_table(status: Mapping[str, Any], *, now: datetime.datetime) -> views.Entries:
    """Return the conditions, reason coloured as in ``status``."""
    result = (status.get("latestMoverStatus") or {}).get("result")
    rows = tuple(
        (
            (
                item.get("type", ""),
                item.get("status", ""),
                views.reason_text(item.get("reason"), result),
                views.relative(timestamps.parse_time(item.get("lastTransitionTime")), now=now),
            ),
            item.get("message", ""),
        )
        for item in status.get("conditions") or []
    )
    return views.Entries("Conditions", ("TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"), rows)


def events_table(found: Sequence[Mapping[str, Any]], *, now: datetime.datetime) -> views.Entries:
    """Return the newest events, oldest first."""
    rows = tuple(
        (
            (
                views.relative(timestamps.parse_time(_event_time(event)), now=now),
                rich.text.Text(
                    event.get("type", ""), style="yellow" if event.get("type") == "Warning" else ""
                ),
                event.get("reason", ""),
            ),
            event.get("note") or event.get("deprecatedMessage") or "",
        )
        for event in found
    )
    return views.Entries("Events", ("AGE", "TYPE", "REASON", "NOTE"), rows)


def _event_time(event: Mapping[str, Any]) -> str:
    return str(
        event.get("eventTime")
        or event.get("deprecatedLastTimestamp")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


async def events_about(kube: client.Kube, obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the newest events (events.k8s.io) about ``obj``, oldest first."""
    meta = obj["metadata"]
    found = [
        event
        for event in await kube.list(client.Kind.EVENT, namespace=meta["namespace"])
        if (event.get("regarding") or {}).get("name") == meta["name"]
        and (event.get("regarding") or {}).get("kind") == obj.get("kind")
    ]
    return sorted(found, key=_event_time)[-EVENT_LIMIT:]


def secret_rows(
    secret: Mapping[str, Any] | None, name: str | None, *, engine: str = "restic"
) -> list[tuple[str, Any]]:
    """Return the Secret's name and key names (never values), flagging missing required keys."""
    if not name:
        return [("name", rich.text.Text(f"spec.{engine}.repository is not set", style="red"))]
    if secret is None:
        return [("name", rich.text.Text(f"{name} (not found)", style="red"))]
    keys = sorted(set(secret.get("data") or {}) | set(secret.get("stringData") or {}))
    missing = [key for key in REQUIRED_KEYS[engine] if key not in keys]
    rows: list[tuple[str, Any]] = [("name", name), ("keys", ", ".join(keys) or "(none)")]
    if missing:
        rows.append(("missing", rich.text.Text(", ".join(missing), style="red")))
    return rows


def claim_rows(claim: Mapping[str, Any] | None, name: str) -> list[tuple[str, Any]]:
    """Return a PVC's phase, size and class."""
    if claim is None:
        return [("name", f"{name} (not created yet or cleaned up)")]
    spec, status = claim.get("spec") or {}, claim.get("status") or {}
    phase = status.get("phase", "")
    return [
        ("name", name),
        ("phase", rich.text.Text(phase, style="" if phase == "Bound" else "yellow")),
        (
            "capacity",
            (status.get("capacity") or {}).get("storage")
            or ((spec.get("resources") or {}).get("requests") or {}).get("storage"),
        ),
        ("storage class", spec.get("storageClassName")),
        ("access modes", ", ".join(spec.get("accessModes") or [])),
    ]


def mover_rows(
    job: Mapping[str, Any] | None, pod: Mapping[str, Any] | None, name: str
) -> list[tuple[str, Any]]:
    """Return the mover Job's state and its newest pod's."""
    if job is None:
        return [("job", f"{name} (none: no sync running)")]
    state = job.get("status") or {}
    rows: list[tuple[str, Any]] = [
        ("job", name),
        ("operations", ", ".join(job_plan.planned_operations(job)) or "-"),
        (
            "active/succeeded/failed",
            f"{state.get('active', 0)}/{state.get('succeeded', 0)}/{state.get('failed', 0)}",
        ),
    ]
    if pod is not None:
        pod_status = pod.get("status") or {}
        rows += [("pod", pod["metadata"]["name"]), ("pod phase", pod_status.get("phase"))]
        for container in pod_status.get("containerStatuses") or []:
            for state_name, details in (container.get("state") or {}).items():
                reason = (details or {}).get("reason") or ""
                rows.append(
                    (f"container {container.get('name')}", f"{state_name} {reason}".strip())
                )
    return rows


def in_place_rows(journal: inplace.Journal, *, named: str) -> list[tuple[str, Any]]:
    """Return the state of the last in-place restore of the source's PVC, and what to run."""
    if journal.phase.finished:
        state = rich.text.Text(str(journal.phase))
        next_step = "-" if journal.phase is inplace.Phase.UNDONE else f"pyvolsync undo {named}"
    else:
        state = rich.text.Text(f"unfinished at step {journal.phase}", style="bold red")
        next_step = (
            f"the same `pyvolsync restore {named} --in-place --path ...` to finish, or "
            f"`pyvolsync undo {named}` to roll back"
        )
    stopped = ", ".join(str(item) for item in journal.workloads) or "-"
    return [
        ("state", state),
        ("paths", ", ".join(journal.paths)),
        ("snapshot", journal.snapshot[:8]),
        ("safety copy", journal.safety_copy[:8] or "-"),
        ("started", journal.started_at),
        ("workloads stopped meanwhile", stopped),
        ("next", next_step),
    ]


async def _in_place_section(
    kube: client.Kube, obj: Mapping[str, Any]
) -> list[rich.console.RenderableType]:
    claim_name = (obj.get("spec") or {}).get("sourcePVC")
    if not session.is_source(obj) or not claim_name:
        return []
    namespace, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
    claim = await kube.get(client.Kind.CLAIM, claim_name, namespace=namespace)
    try:
        journal = inplace.read_journal(claim or {})
    except inplace.JournalError as error:
        return [rich.text.Text(f"In-place restore: {error}", style="red")]
    if journal is None:
        return []
    rows = in_place_rows(journal, named=f"{name} -n {namespace}")
    return [_pairs(f"In-place restore into PVC {claim_name}", rows)]


async def gather(kube: client.Kube, obj: Mapping[str, Any]) -> list[rich.console.RenderableType]:
    """Return every section of the description."""
    meta, spec = obj["metadata"], obj.get("spec") or {}
    namespace, name = meta["namespace"], meta["name"]
    status = obj.get("status") or {}
    role = names.Role.SOURCE if session.is_source(obj) else names.Role.DESTINATION
    job_name, cache_name = names.mover_job(role, name), names.cache_claim(role, name)
    engine = session.engine_of(obj)
    secret_name = (spec.get(engine) or {}).get("repository")
    job = await kube.get(client.Kind.JOB, job_name, namespace=namespace)
    secret = (
        await kube.get(client.Kind.SECRET, secret_name, namespace=namespace)
        if secret_name
        else None
    )
    now = datetime.datetime.now(datetime.UTC)
    sections: list[rich.console.RenderableType] = [
        rich.text.Text(f"{obj['kind']} {namespace}/{name}", style="bold"),
        _pairs("Spec", spec_rows(obj)),
        _pairs("Status", status_rows(status, now=now)),
        conditions_table(status, now=now),
        _pairs("Last result (the mover's result document)", result_rows(status)),
        _pairs(
            "Mover", mover_rows(job, await actions.mover_pod(kube, obj) if job else None, job_name)
        ),
        _pairs(
            "Cache PVC",
            claim_rows(
                await kube.get(client.Kind.CLAIM, cache_name, namespace=namespace), cache_name
            ),
        ),
        _pairs("Repository Secret", secret_rows(secret, secret_name, engine=engine)),
        *await _in_place_section(kube, obj),
        events_table(await events_about(kube, obj), now=now),
    ]
    logs = (status.get("latestMoverStatus") or {}).get("logs")
    if logs:
        sections.append(rich.text.Text("Mover log (last lines)", style="bold"))
        sections.append(rich.text.Text(logs.rstrip("\n")))
    return sections


def describe(
    name: actions.NameArgument,
    *,
    namespace: session.NamespaceOption = None,
    kind: session.KindOption = None,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """Show one object: spec, status, conditions, events, Job and pod, cache PVC, Secret keys."""
    target = session.Target(kubeconfig, context, namespace)
    console = rich.console.Console()

    async def body(kube: client.Kube) -> None:
        obj = await session.find(kube, name, namespace=target.namespace_of(kube), role=kind)
        for section in await gather(kube, obj):
            console.print(section)
            console.print()

    session.run(body, target)
