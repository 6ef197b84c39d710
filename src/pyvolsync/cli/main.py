"""``pyvolsync``: the operator's entry point and, later, the user's tools.

Every operator setting is an option with an environment variable twin (``PYVOLSYNC_*``), so the
Helm chart sets them through the Deployment's env and a developer through flags. A bad value
is reported in one line naming the option, never as a traceback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sys
from typing import Annotated, Any

import typer
import yaml

from pyvolsync import __version__, contract
from pyvolsync.api import durations
from pyvolsync.cli import component, session, tools
from pyvolsync.controller import notifications, operator, reconciler, schedule, statemachine
from pyvolsync.movers import base as mover_base
from pyvolsync.movers import jobs as job_plan

DEFAULT_MOVER_IMAGE = session.DEFAULT_MOVER_IMAGE

app = typer.Typer(
    name="pyvolsync",
    help="VolSync-compatible volume backups with restic.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=2)


def _duration(option: str, text: str) -> Any:
    try:
        return durations.parse_duration(text)
    except ValueError:
        raise _fail(f"{option}: {text!r} is not a duration like 30s, 10m or 1h") from None


def _positive_duration(option: str, text: str) -> Any:
    duration = _duration(option, text)
    if duration.total_seconds() <= 0:
        raise _fail(f"{option}: {text!r} must be longer than zero, e.g. 10m")
    return duration


def _notify_secret(text: str | None) -> notifications.SecretRef | None:
    if not text:
        return None
    try:
        return notifications.SecretRef.parse(text)
    except ValueError as error:
        raise _fail(f"--notify-secret: {error}") from None


def _check_subset(text: str | None) -> str | None:
    """Return the subset if the mover will take it (the same rule: contract)."""
    if not text:
        return None
    if not contract.valid_read_data_subset(text):
        raise _fail(f"--check-read-data-subset: {text!r} must be {contract.READ_DATA_SUBSET_FORMS}")
    return text


def _volume_source(text: str | None, nfs: str | None) -> dict[str, Any] | None:
    if nfs:
        server, separator, path = nfs.partition(":")
        if not separator or not server or not path.startswith("/"):
            raise _fail(f"--repository-nfs: {nfs!r} is not SERVER:/PATH")
        return {"nfs": {"server": server, "path": path}}
    if not text:
        return None
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise _fail(f"--repository-volume: not YAML or JSON ({error})") from None
    if not isinstance(parsed, dict) or len(parsed) != 1:
        raise _fail("--repository-volume: give exactly one volume source, e.g. {nfs: {...}}")
    return parsed


@app.command("version")
def version() -> None:
    """Print pyvolsync's version."""
    typer.echo(__version__)


@app.command("operator")
def run_operator(
    *,
    kubeconfig: Annotated[
        str | None,
        typer.Option(
            envvar="KUBECONFIG", help="Kubeconfig file; in a pod the service account is used."
        ),
    ] = None,
    mover_image: Annotated[
        str, typer.Option(envvar="PYVOLSYNC_MOVER_IMAGE", help="Image of mover Jobs.")
    ] = DEFAULT_MOVER_IMAGE,
    mover_retries: Annotated[
        int,
        typer.Option(
            envvar="PYVOLSYNC_MOVER_RETRIES",
            min=0,
            max=10,
            help="Retries of a failed mover pod before the sync fails.",
        ),
    ] = 2,
    max_movers: Annotated[
        int,
        typer.Option(
            envvar="PYVOLSYNC_MAX_MOVERS",
            min=0,
            help="Movers running at once, cluster-wide (0: no limit).",
        ),
    ] = 0,
    jitter: Annotated[
        str,
        typer.Option(
            envvar="PYVOLSYNC_JITTER", help="Spread scheduled syncs over this window, e.g. 10m."
        ),
    ] = "0s",
    timezone: Annotated[
        str,
        typer.Option(envvar="PYVOLSYNC_SCHEDULE_TIMEZONE", help="Zone cron schedules are read in."),
    ] = "UTC",
    first_sync: Annotated[
        statemachine.FirstSync,
        typer.Option(envvar="PYVOLSYNC_FIRST_SYNC", help="immediate (as upstream) or schedule."),
    ] = statemachine.FirstSync.IMMEDIATE,
    failure_backoff: Annotated[
        str,
        typer.Option(
            envvar="PYVOLSYNC_FAILURE_BACKOFF",
            help="First wait after a failed sync without schedule; doubles.",
        ),
    ] = "5m",
    volume_timeout: Annotated[
        str,
        typer.Option(
            envvar="PYVOLSYNC_VOLUME_TIMEOUT",
            help="Wait at most this long for a snapshot to be ready or a PVC to bind.",
        ),
    ] = f"{mover_base.DEFAULT_VOLUME_TIMEOUT.total_seconds() / 60:g}m",
    check_interval: Annotated[
        str,
        typer.Option(
            envvar="PYVOLSYNC_CHECK_INTERVAL",
            help="Run restic check with a source's backup this often (0: never).",
        ),
    ] = f"{reconciler.DEFAULT_CHECK_INTERVAL.total_seconds() / 3600:g}h",
    check_read_data_subset: Annotated[
        str | None,
        typer.Option(
            envvar="PYVOLSYNC_CHECK_READ_DATA_SUBSET",
            help="restic check also reads this share of the packs: n/t, x% or a size (500M).",
        ),
    ] = None,
    repository_volume: Annotated[
        str | None,
        typer.Option(
            envvar="PYVOLSYNC_REPOSITORY_VOLUME",
            help="Volume source (YAML/JSON) mounted at /repository in movers lacking one.",
        ),
    ] = None,
    repository_nfs: Annotated[
        str | None,
        typer.Option(
            envvar="PYVOLSYNC_REPOSITORY_NFS",
            help="Shorthand for an NFS repository volume: SERVER:/PATH.",
        ),
    ] = None,
    notify_secret: Annotated[
        str | None,
        typer.Option(
            envvar="PYVOLSYNC_NOTIFY_SECRET",
            help="NAMESPACE/NAME of a Secret whose keys are notification targets (Apprise URLs).",
        ),
    ] = None,
    notify_quiet: Annotated[
        str,
        typer.Option(
            envvar="PYVOLSYNC_NOTIFY_QUIET",
            help="Wait this long without news before sending (many changes: one digest).",
        ),
    ] = "30s",
    metrics_port: Annotated[
        int,
        typer.Option(
            envvar="PYVOLSYNC_METRICS_PORT", help="Serve Prometheus metrics on this port (0: off)."
        ),
    ] = 8080,
    progress_interval: Annotated[
        int,
        typer.Option(
            min=1,
            max=600,
            help="Seconds between progress readings of a running mover (status writes).",
        ),
    ] = 10,
    workers: Annotated[
        int,
        typer.Option(envvar="PYVOLSYNC_WORKERS", min=1, max=64, help="Objects reconciled at once."),
    ] = 8,
    leader_election: Annotated[
        bool,
        typer.Option(
            envvar="PYVOLSYNC_LEADER_ELECTION", help="Hold a Lease so only one replica acts."
        ),
    ] = True,
    lease_namespace: Annotated[
        str, typer.Option(envvar="POD_NAMESPACE", help="Namespace of the leader Lease.")
    ] = "default",
    log_level: Annotated[
        str, typer.Option(envvar="PYVOLSYNC_LOG_LEVEL", help="DEBUG, INFO, WARNING or ERROR.")
    ] = "INFO",
) -> None:
    """Run the operator: reconcile ReplicationSources and ReplicationDestinations."""
    try:
        zone = schedule.timezone_named(timezone)
    except ValueError as error:
        raise _fail(f"--timezone: {error}") from None
    policy = statemachine.Policy(
        timezone=zone,
        jitter_window=_duration("--jitter", jitter),
        first_sync=first_sync,
        failure_backoff=_duration("--failure-backoff", failure_backoff),
    )
    job_settings = job_plan.JobSettings(
        image=mover_image,
        retries=mover_retries,
        repository_volume=_volume_source(repository_volume, repository_nfs),
        progress_interval_seconds=progress_interval,
        check_read_data_subset=_check_subset(check_read_data_subset),
    )
    config = operator.OperatorConfig(
        reconcile=reconciler.Settings(
            job=job_settings,
            policy=policy,
            max_movers=max_movers,
            volume_timeout=_positive_duration("--volume-timeout", volume_timeout),
            check_interval=_duration("--check-interval", check_interval),
        ),
        kubeconfig=kubeconfig,
        notify_secret=_notify_secret(notify_secret),
        notify_quiet=_positive_duration("--notify-quiet", notify_quiet).total_seconds(),
        metrics_port=metrics_port,
        workers=workers,
        leader_election=leader_election,
        lease_namespace=lease_namespace,
    )
    logging.basicConfig(
        level=log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    for noisy in ("httpx2", "httpcore2", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger(__name__).info(
        "pyvolsync %s; settings %s", __version__, json.dumps(_summary(config))
    )
    asyncio.run(operator.run(config))


def _summary(config: operator.OperatorConfig) -> dict[str, Any]:
    policy = config.reconcile.policy
    return {
        "moverImage": config.reconcile.job.image,
        "maxMovers": config.reconcile.max_movers,
        "jitterSeconds": policy.jitter_window.total_seconds(),
        "firstSync": str(policy.first_sync),
        "volumeTimeoutSeconds": config.reconcile.volume_timeout.total_seconds(),
        "checkIntervalSeconds": config.reconcile.check_interval.total_seconds(),
        "checkReadDataSubset": config.reconcile.job.check_read_data_subset,
        "repositoryVolume": bool(config.reconcile.job.repository_volume),
        "notifySecret": dataclasses.asdict(config.notify_secret) if config.notify_secret else None,
    }


app.command("render-component")(component.render_component)
tools.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
