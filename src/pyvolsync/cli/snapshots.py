"""``pyvolsync snapshots NAME``: the catalog of an object's snapshots, for any engine.

The repository's password stays in the cluster: the listing runs as a short-lived Job in the
object's namespace with the mover image, running the engine's read-only ``snapshots``
operation in the mover's own container (the Secret passed by reference, the same repository
volumes), which prints one catalog line (``contract.catalog_line``) to its log; that line is
all the CLI reads. restic lists the repository's snapshots of host ``volsync`` (every source
that wrote there), kopia the object's identity's. The Job is deleted afterwards.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

import rich.console
import rich.table
import typer
import yaml

from pyvolsync import contract
from pyvolsync.api import destination, source
from pyvolsync.cli import actions, session, views
from pyvolsync.controller import leader
from pyvolsync.kube import client, errors
from pyvolsync.movers import iteration, registry
from pyvolsync.movers import jobs as job_plan
from pyvolsync.planning import metadata

JOB_DEADLINE_SECONDS = job_plan.LISTING_DEADLINE_SECONDS
OUTPUTS = ("table", "wide", "json", "yaml")
LISTING_LABELS = {"app.kubernetes.io/created-by": "pyvolsync-cli"}
LEASE_NAME = leader.LeaseSettings(identity="").name
NO_VOLUME = (
    "no repository volume was mounted: none was given with --repository-nfs, and no operator "
    "Deployment (env PYVOLSYNC_REPOSITORY_NFS / PYVOLSYNC_REPOSITORY_VOLUME) or operator Lease "
    f"(annotation {metadata.REPOSITORY_VOLUME_ANNOTATION}) names one; if the repository is a "
    "path on a shared volume, pass --repository-nfs SERVER:/PATH"
)
LOG_LINES_KEPT = 200
"""Log lines (besides a stream's data) a streaming Job's failure is explained from."""
OPERATOR_VOLUME_VARIABLES = ("PYVOLSYNC_REPOSITORY_NFS", "PYVOLSYNC_REPOSITORY_VOLUME")

RepositoryNfsOption = Annotated[
    str | None,
    typer.Option(
        "--repository-nfs",
        help="SERVER:/PATH mounted at /repository (default: the operator Deployment's setting).",
    ),
]
JobTimeoutOption = Annotated[
    float, typer.Option("--timeout", help="Seconds the short Job may take.", min=1)
]
MoverImageOption = Annotated[
    str | None,
    typer.Option("--mover-image", help="Mover image (default: the operator Deployment's)."),
]


def repository_volume_from_nfs(text: str) -> dict[str, Any]:
    """Return the volume source for ``SERVER:/PATH``; raise UserError when it is not that."""
    server, separator, path = text.partition(":")
    if not separator or not server or not path.startswith("/"):
        raise session.UserError(f"--repository-nfs: {text!r} is not SERVER:/PATH")
    return {"nfs": {"server": server, "path": path}}


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataVolume:
    """The source's PVC at the mover's data folder (an in-place restore and its safety copy),
    with the identity the source's own mover has."""

    claim: str
    read_only: bool
    privileged: bool = False
    service_account: str = "default"


def listing_job(
    obj: Mapping[str, Any],
    *,
    secret_keys: frozenset[str],
    image: str,
    repository_volume: Mapping[str, Any] | None,
    operation: contract.Operation = contract.Operation.SNAPSHOTS,
    environment: Mapping[str, str] | None = None,
    deadline_seconds: int = JOB_DEADLINE_SECONDS,
    data: DataVolume | None = None,
) -> dict[str, Any]:
    """Return the Job that runs a catalog or browsing ``operation`` on ``obj``'s snapshots (by
    default the read-only listing; ``environment`` says which snapshot, which paths), with the
    mover's container, Secret references and volumes; ``data`` mounts the source's PVC."""
    model = _model(obj)
    found = registry.engine_of(model.spec)
    if found is None:
        raise session.UserError(f"{obj['metadata']['name']!r} has no restic or kopia section")
    mover, section = found
    name = f"pyvolsync-{operation}-{obj['metadata']['name']}"[:52] + f"-{secrets.token_hex(3)}"
    data = data or DataVolume(claim="", read_only=True)
    plan = job_plan.JobPlan(
        owner=metadata.Owner.of(obj),
        name=name,
        service_account=data.service_account,
        operations=(operation,),
        spec=section,
        mover=mover,
        data_claim=data.claim,
        data_read_only=data.read_only,
        cache_claim="",
        secret_name=str(section.repository),
        secret_keys=secret_keys,
        privileged=data.privileged,
    )
    settings = job_plan.JobSettings(image=image, retries=0, repository_volume=repository_volume)
    return job_plan.listing_job(
        plan,
        settings,
        labels=LISTING_LABELS,
        environment=environment,
        deadline_seconds=deadline_seconds,
    )


def _model(obj: Mapping[str, Any]) -> source.ReplicationSource | destination.ReplicationDestination:
    without_status = {**obj, "status": None}
    if session.is_source(obj):
        return source.ReplicationSource.model_validate(without_status)
    return destination.ReplicationDestination.model_validate(without_status)


def snapshot_row(entry: contract.CatalogEntry) -> dict[str, Any]:
    """Return what ``snapshots`` shows of one snapshot."""
    return {
        "time": entry.time,
        "id": entry.id[: views.SHORT_ID_LENGTH],
        "size": entry.size,
        "files": entry.files,
        "added": entry.added,
        "pinned": entry.pinned,
        "tags": list(entry.tags),
        "hostname": entry.hostname,
        "paths": list(entry.paths),
        "identity": entry.identity,
    }


SNAPSHOT_COLUMNS = (
    views.Column("TIME", lambda row: row["time"]),
    views.Column("ID", lambda row: row["id"]),
    views.Column("SIZE", lambda row: views.size(row["size"]), drop_rank=5),
    views.Column(
        "FILES", lambda row: "-" if row["files"] is None else str(row["files"]), drop_rank=3
    ),
    views.Column("ADDED", lambda row: views.size(row["added"]), drop_rank=4),
    views.Column("PINNED", lambda row: "yes" if row["pinned"] else "-", drop_rank=2),
    views.Column("TAGS", lambda row: ", ".join(row["tags"]) or "-", drop_rank=1),
    views.Column(
        "SOURCE",
        lambda row: row["identity"] or f"{row['hostname']}:{', '.join(row['paths'])}",
        drop_rank=6,
    ),
)


async def operator_settings(kube: client.Kube) -> dict[str, str]:
    """Return the operator's mover image and repository volume as PYVOLSYNC_* settings: from its
    Deployment's environment, else from the annotations of the Lease it holds (an operator
    running outside the cluster); {} when neither can be read."""
    return await _deployment_settings(kube) or await _lease_settings(kube)


async def _deployment_settings(kube: client.Kube) -> dict[str, str]:
    try:
        deployments = await kube.list(
            client.Kind.DEPLOYMENT, labels={"app.kubernetes.io/name": "pyvolsync"}
        )
    except errors.KubeError:
        return {}
    for deployment in deployments:
        for container in deployment["spec"]["template"]["spec"].get("containers") or []:
            env = {
                item["name"]: item.get("value", "")
                for item in container.get("env") or []
                if "value" in item
            }
            if "PYVOLSYNC_MOVER_IMAGE" in env or any(
                key in env for key in OPERATOR_VOLUME_VARIABLES
            ):
                return env
    return {}


async def _lease_settings(kube: client.Kube) -> dict[str, str]:
    try:
        leases = await kube.list(client.Kind.LEASE)
    except errors.KubeError:
        return {}
    held = [
        lease
        for lease in leases
        if lease["metadata"]["name"] == LEASE_NAME
        and (lease.get("spec") or {}).get("holderIdentity")
        and metadata.MOVER_IMAGE_ANNOTATION in (lease["metadata"].get("annotations") or {})
    ]
    if not held:
        return {}
    newest = max(held, key=lambda lease: str(lease["spec"].get("renewTime", "")))
    annotations = newest["metadata"]["annotations"]
    settings = {"PYVOLSYNC_MOVER_IMAGE": annotations[metadata.MOVER_IMAGE_ANNOTATION]}
    if metadata.REPOSITORY_VOLUME_ANNOTATION in annotations:
        settings["PYVOLSYNC_REPOSITORY_VOLUME"] = annotations[metadata.REPOSITORY_VOLUME_ANNOTATION]
    return settings


def _repository_volume(nfs: str | None, settings: Mapping[str, str]) -> dict[str, Any] | None:
    if nfs:
        return repository_volume_from_nfs(nfs)
    if settings.get("PYVOLSYNC_REPOSITORY_NFS"):
        return repository_volume_from_nfs(settings["PYVOLSYNC_REPOSITORY_NFS"])
    if settings.get("PYVOLSYNC_REPOSITORY_VOLUME"):
        parsed = yaml.safe_load(settings["PYVOLSYNC_REPOSITORY_VOLUME"])
        return dict(parsed) if isinstance(parsed, dict) else None
    return None


async def run_listing(
    kube: client.Kube,
    job: dict[str, Any],
    *,
    timeout: float,
    owner: str,
    action: str = "the repository could not be listed",
) -> str:
    """Run the listing Job; return its pod's log; delete the Job (and its pod) in any case.

    A failed listing raises UserError saying ``action`` failed, in the mover's own words (its
    result document)."""
    log, _ = await run_job(kube, job, timeout=timeout, owner=owner, action=action)
    return log


async def run_job(
    kube: client.Kube, job: dict[str, Any], *, timeout: float, owner: str, action: str
) -> tuple[str, list[contract.MoverResult]]:
    """Run a short Job; return its pod's log and the mover's result documents; delete the Job
    in any case. A failed Job raises UserError saying ``action`` failed, in the mover's words."""
    namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
    await kube.create(job)
    try:
        state = await _finished(kube, name, namespace, timeout=timeout)
        pods = await kube.list(client.Kind.POD, namespace=namespace, labels={"job-name": name})
        log = "".join(
            [
                await kube.pod_log(
                    pod["metadata"]["name"],
                    namespace=namespace,
                    container=iteration.mover_container(pod),
                )
                for pod in pods
            ]
        )
    finally:
        await kube.delete(client.Kind.JOB, name, namespace=namespace)
    if not state.get("succeeded"):
        raise _failed_job(job, pods, log, owner=owner, action=action)
    return log, [result for result in map(iteration.pod_result, pods) if result is not None]


def _failed_job(
    job: Mapping[str, Any], pods: list[dict[str, Any]], log: str, *, owner: str, action: str
) -> session.UserError:
    """Return the error of a short Job that failed, in the mover's own words."""
    volumes = job["spec"]["template"]["spec"].get("volumes") or []
    mounted = any(volume["name"] == job_plan.REPOSITORY_VOLUME for volume in volumes)
    return session.UserError(_failure(pods, log, owner, volume_mounted=mounted, action=action))


async def run_streaming(
    kube: client.Kube,
    job: dict[str, Any],
    *,
    timeout: float,
    owner: str,
    action: str,
    on_line: Callable[[str], Awaitable[None] | None],
) -> None:
    """Run the Job and pass each line of its pod's log to ``on_line`` as it is written (a
    download streams through here, never held whole; an ``on_line`` that returns an awaitable
    is awaited, so a slow reader slows the log down); delete the Job in any case. A failed
    Job raises UserError saying ``action`` failed, in the mover's own words."""
    namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
    said: collections.deque[str] = collections.deque(maxlen=LOG_LINES_KEPT)
    await kube.create(job)
    try:
        pod = await _pod_with_output(kube, name, namespace, timeout=timeout)
        if pod is not None:
            lines = kube.follow_log(
                pod["metadata"]["name"],
                namespace=namespace,
                container=iteration.mover_container(pod),
            )
            async for line in lines:
                if not line.startswith(contract.STREAM_DATA_PREFIX):
                    said.append(line)
                waiting = on_line(line)
                if waiting is not None:
                    await waiting
        state = await _finished(kube, name, namespace, timeout=timeout)
        pods = await kube.list(client.Kind.POD, namespace=namespace, labels={"job-name": name})
    finally:
        await kube.delete(client.Kind.JOB, name, namespace=namespace)
    if not state.get("succeeded"):
        raise _failed_job(job, pods, "".join(said), owner=owner, action=action)


async def _pod_with_output(
    kube: client.Kube, name: str, namespace: str, *, timeout: float
) -> dict[str, Any] | None:
    """Return the Job's pod once its container has started (or ended); None when the Job ended
    without one."""

    async def started() -> list[dict[str, Any]] | None:
        pods = await kube.list(client.Kind.POD, namespace=namespace, labels={"job-name": name})
        for pod in pods:
            for container in (pod.get("status") or {}).get("containerStatuses") or []:
                state = container.get("state") or {}
                if "running" in state or "terminated" in state:
                    return [pod]
        job = await kube.get(client.Kind.JOB, name, namespace=namespace)
        return [] if ((job or {}).get("status") or {}).get("failed") else None

    found = await session.poll(
        started,
        timeout=timeout,
        timed_out=lambda: (
            f"the Job {namespace}/{name} did not start in {timeout:g} s; "
            f"see `kubectl describe job {name} -n {namespace}`"
        ),
    )
    return found[0] if found else None


async def _finished(
    kube: client.Kube, name: str, namespace: str, *, timeout: float
) -> dict[str, Any]:
    async def ended() -> dict[str, Any] | None:
        job = await kube.get(client.Kind.JOB, name, namespace=namespace)
        state: dict[str, Any] = (job or {}).get("status") or {}
        return state if state.get("succeeded") or state.get("failed") else None

    return await session.poll(
        ended,
        timeout=timeout,
        timed_out=lambda: (
            f"the listing Job {namespace}/{name} did not finish in {timeout:g} s; "
            f"see `kubectl describe job {name} -n {namespace}`"
        ),
    )


def _failure(
    pods: list[dict[str, Any]],
    log: str,
    owner: str,
    *,
    volume_mounted: bool,
    action: str = "the repository could not be listed",
) -> str:
    """Say why the listing failed: the mover's result (kind and message), else its last lines;
    and, when the repository may be on a volume the Job did not have, where the CLI looked."""
    results = [result for result in map(iteration.pod_result, pods) if result is not None]
    failed = [result for result in results if not result.outcome.ok]
    if failed:
        reason = f"{failed[-1].message} ({failed[-1].error_kind or 'failed'})"
    else:
        reason = " | ".join([line for line in log.splitlines() if line.strip()][-3:]) or "no log"
    missing = failed and failed[-1].error_kind in (
        contract.ErrorKind.REPOSITORY_MISSING,
        contract.ErrorKind.REPOSITORY_UNREACHABLE,
    )
    if missing and not volume_mounted:
        return f"{action}: {reason}; {NO_VOLUME}"
    if failed and failed[-1].error_kind is contract.ErrorKind.INVALID_CONFIGURATION:
        return f"{action}: {failed[-1].message}"
    return (
        f"{action}: {reason}; check the Secret and the repository volume "
        f"(`pyvolsync describe {owner}`)"
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobOptions:
    """How the CLI's catalog Jobs reach the repository, and how long they may take."""

    repository_nfs: str | None = None
    mover_image: str | None = None
    timeout: float = JOB_DEADLINE_SECONDS


@dataclasses.dataclass(frozen=True, kw_only=True)
class Request:
    """Which object's snapshots a command acts on, and how its Jobs run."""

    name: str
    options: JobOptions
    target: session.Target
    kind: session.RoleOption | None = None

    @classmethod
    def of(
        cls,
        *,
        name: str,
        repository_nfs: str | None,
        mover_image: str | None,
        timeout: float,
        namespace: str | None,
        kind: session.RoleOption | None,
        kubeconfig: str | None,
        context: str | None,
    ) -> Request:
        """Return the request the command line describes."""
        return cls(
            name=name,
            options=JobOptions(
                repository_nfs=repository_nfs, mover_image=mover_image, timeout=timeout
            ),
            target=session.Target(kubeconfig, context, namespace),
            kind=kind,
        )

    async def find(self, kube: client.Kube) -> session.JsonObject:
        """Return the ReplicationSource or ReplicationDestination the command names."""
        namespace = self.target.namespace_of(kube)
        return await session.find(kube, self.name, namespace=namespace, role=self.kind)


async def prepared_job(
    kube: client.Kube,
    obj: Mapping[str, Any],
    options: JobOptions,
    *,
    operation: contract.Operation,
    environment: Mapping[str, str] | None = None,
    data: DataVolume | None = None,
) -> dict[str, Any]:
    """Return the short Job that runs ``operation`` on ``obj``'s repository (checking that its
    repository Secret exists), with the operator's mover image and repository volume (and,
    given ``data``, the source's PVC)."""
    name, where = obj["metadata"]["name"], obj["metadata"]["namespace"]
    engine = session.engine_of(obj)
    secret_name = ((obj.get("spec") or {}).get(engine) or {}).get("repository")
    if not secret_name:
        raise session.UserError(f"{name!r} has no spec.{engine}.repository")
    secret = await kube.get(client.Kind.SECRET, secret_name, namespace=where)
    if secret is None:
        raise session.UserError(
            f"the repository Secret {secret_name!r} does not exist in namespace {where!r}"
        )
    settings = await operator_settings(kube)
    return listing_job(
        obj,
        secret_keys=frozenset(secret.get("data") or {}),
        image=options.mover_image
        or settings.get("PYVOLSYNC_MOVER_IMAGE")
        or session.DEFAULT_MOVER_IMAGE,
        repository_volume=_repository_volume(options.repository_nfs, settings),
        operation=operation,
        environment=environment,
        deadline_seconds=int(options.timeout),
        data=data,
    )


async def run_catalog(
    kube: client.Kube,
    obj: Mapping[str, Any],
    options: JobOptions,
    *,
    operation: contract.Operation = contract.Operation.SNAPSHOTS,
    snapshot: str = "",
    action: str = "the repository could not be listed",
) -> list[contract.CatalogEntry]:
    """Run a catalog ``operation`` on ``obj``'s repository in a short Job; return the catalog
    it printed (the listing, or the one snapshot acted on); raise UserError naming ``action``."""
    environment = {contract.EnvVar.SNAPSHOT.value: snapshot} if snapshot else {}
    job = await prepared_job(kube, obj, options, operation=operation, environment=environment)
    owner = obj["metadata"]["name"]
    log = await run_listing(kube, job, timeout=options.timeout, owner=owner, action=action)
    listed = contract.parse_catalog(log)
    if listed is None:
        raise session.UserError(f"{action}: the Job printed no catalog; see its log")
    return listed


def snapshots(
    name: actions.NameArgument,
    *,
    output: Annotated[
        str,
        typer.Option("--output", "-o", help="table (the columns that fit), wide, json or yaml."),
    ] = "table",
    repository_nfs: RepositoryNfsOption = None,
    mover_image: MoverImageOption = None,
    timeout: JobTimeoutOption = JOB_DEADLINE_SECONDS,
    namespace: session.NamespaceOption = None,
    kind: session.KindOption = None,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """List the snapshots of NAME (restic: its repository's; kopia: its identity's), through a
    short Job in its namespace."""
    target = session.Target(kubeconfig, context, namespace)
    console = rich.console.Console()

    if output not in OUTPUTS:
        raise session.fail(f"-o {output}: choose one of {', '.join(OUTPUTS)}")

    options = JobOptions(repository_nfs=repository_nfs, mover_image=mover_image, timeout=timeout)

    async def body(kube: client.Kube) -> None:
        obj = await session.find(kube, name, namespace=target.namespace_of(kube), role=kind)
        where = obj["metadata"]["namespace"]
        listed = await run_catalog(kube, obj, options)
        found = [snapshot_row(item) for item in listed]
        if output == "json":
            typer.echo(json.dumps(found, indent=2))
        elif output == "yaml":
            typer.echo(yaml.safe_dump(found, sort_keys=False).rstrip("\n"))
        elif not found:
            console.print(f"no snapshots of {where}/{name} in its repository")
        else:
            views.print_table(console, SNAPSHOT_COLUMNS, found, wide=output == "wide")

    session.run(body, target)
