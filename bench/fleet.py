"""A fleet of ReplicationSources on a fresh local cluster, and what the operator does with it.

The operator benchmarks (``bench.operator_scale``, ``bench.stampede``) need the same parts: a
fresh control plane in a temporary directory, the real ``pyvolsync operator`` process started
with the no-op mover image (``localcluster/nodeagent/images.py``: a mover that copies nothing and
reports success, so a thousand syncs cost the operator what real ones would and the machine
almost nothing else), a thousand sources with their PVCs and repository Secrets created fast
(server-side apply, many requests in flight), and watches in this process that note when each
mover Job appears and disappears and what each source's status says. Times are this machine's
wall clock, the same clock the operator writes ``nextSyncTime`` with.

The operator's own cost is read from ``/proc/<pid>`` (CPU seconds, ``VmHWM``) and its API requests
from the kube-apiserver's audit log (user agent ``pyvolsync-operator/…``, watches included: they
go through the same client). With ``PYVOLSYNC_BENCH_PROFILE=<file>`` the operator runs
under pyinstrument (a dev dependency) and leaves its session in that file (read it with
``pyinstrument --load <file>``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import datetime
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import lightkube
from lightkube import codecs
from lightkube.resources import batch_v1, core_v1
from lightkube.types import OnErrorAction, OnErrorResult, PatchType
from localcluster import controlplane
from tests.support import operator as support

from bench import machine
from pyvolsync.kube.client import ReplicationSource

NOOP_IMAGE = "localhost/pyvolsync-noop-mover:bench"
PLACEHOLDER_SCHEDULE = "0 0 1 1 *"
"""Once a year: with ``--first-sync schedule`` a new source waits until the benchmark acts."""
OPERATOR_AGENTS = ("pyvolsync-operator",)
CREATED_BY: dict[str, Any] = {"app.kubernetes.io/created-by": "volsync"}
FIELD_MANAGER = "pyvolsync-bench"
ALL_NAMESPACES = "*"
PROFILE_VARIABLE = "PYVOLSYNC_BENCH_PROFILE"
Key = tuple[str, str]
"""(namespace, name) of a ReplicationSource."""


def say(message: str) -> None:
    """Print a progress line with the time and the load average (stderr)."""
    load = os.getloadavg()[0]
    print(f"{time.strftime('%H:%M:%S')} [load {load:.2f}] {message}", file=sys.stderr, flush=True)


# --- the fleet ------------------------------------------------------------------------------


def fleet_keys(sources: int, namespaces: int) -> list[Key]:
    """Return the sources' keys, dealt round-robin over ``namespaces`` namespaces."""
    return [(f"fleet-{index % namespaces:02d}", f"app-{index:04d}") for index in range(sources)]


def spread_sample(keys: Sequence[Key], count: int, *, skip: int = 0) -> list[Key]:
    """Return ``count`` keys taken from every namespace in turn (after skipping ``skip``)."""
    by_namespace: dict[str, list[Key]] = collections.defaultdict(list)
    for key in keys:
        by_namespace[key[0]].append(key)
    columns = list(by_namespace.values())
    longest = max((len(column) for column in columns), default=0)
    dealt = [column[row] for row in range(longest) for column in columns if row < len(column)]
    return dealt[skip : skip + count]


def manifests(key: Key, *, schedule: str) -> list[dict[str, Any]]:
    """Return one source's PVC, repository Secret and ReplicationSource (copyMethod Direct)."""
    namespace, name = key
    meta = {"name": name, "namespace": namespace}
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {**meta, "name": f"{name}-data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {**meta, "name": f"{name}-restic"},
        "stringData": {
            "RESTIC_REPOSITORY": f"/repository/{namespace}/{name}",
            "RESTIC_PASSWORD": "bench-password",
        },
    }
    source = {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationSource",
        "metadata": meta,
        "spec": {
            "sourcePVC": f"{name}-data",
            "trigger": {"schedule": schedule},
            "restic": {"repository": f"{name}-restic", "copyMethod": "Direct"},
        },
    }
    return [claim, secret, source]


# --- the operator process -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Usage:
    """A process's CPU seconds (user + system) and memory at one moment."""

    at: float
    cpu_seconds: float
    rss_bytes: int
    peak_rss_bytes: int


def usage(pid: int) -> Usage:
    """Read ``/proc/<pid>``: CPU time so far, resident and peak resident memory (VmHWM)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    memory = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            memory[name] = int(value.split()[0]) * 1024
    return Usage(time.time(), cpu, memory.get("VmRSS", 0), memory.get("VmHWM", 0))


def cost(before: Usage, after: Usage) -> dict[str, float]:
    """Return the CPU used between two readings, and that rate per hour."""
    seconds = after.at - before.at
    used = after.cpu_seconds - before.cpu_seconds
    return {
        "wall_seconds": round(seconds, 1),
        "cpu_seconds": round(used, 2),
        "cpu_seconds_per_hour": round(used / seconds * 3600, 1) if seconds > 0 else 0.0,
    }


# --- what the watches see -------------------------------------------------------------------


@dataclasses.dataclass
class Observed:
    """Everything the watches saw, with this process's arrival times."""

    job_added: dict[Key, list[float]] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(list)
    )
    job_deleted: dict[Key, list[float]] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(list)
    )
    jobs: set[str] = dataclasses.field(default_factory=set)
    """uids of the mover Jobs that exist now."""
    most_jobs: int = 0
    """The most mover Jobs that existed at once since ``reset_most``."""
    running_pods: set[str] = dataclasses.field(default_factory=set)
    most_running_pods: int = 0
    statuses: dict[Key, dict[str, Any]] = dataclasses.field(default_factory=dict)
    status_changes: int = 0
    last_change: float = 0.0

    def reset_most(self) -> None:
        """Start counting the maximum of concurrent movers afresh from the current count."""
        self.most_jobs = len(self.jobs)
        self.most_running_pods = len(self.running_pods)


def retry_watch(error: Exception, count: int) -> OnErrorResult:
    """Reconnect a failed watch (a 429 from a busy API server) after a short pause."""
    say(f"a watch failed ({error}); reconnecting")
    return OnErrorResult(OnErrorAction.RETRY, sleep=min(count, 5))


class Watches:
    """Watches on mover Jobs, their Pods and every ReplicationSource, feeding ``Observed``."""

    def __init__(self, client: lightkube.AsyncClient) -> None:
        self.client = client
        self.seen = Observed()
        self.changed = asyncio.Condition()
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start the watches; return once they had time to connect (nothing exists yet)."""
        self.tasks = [
            asyncio.create_task(self._watch_jobs()),
            asyncio.create_task(self._watch_pods()),
            asyncio.create_task(self._watch_sources()),
        ]
        await asyncio.sleep(2)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def check(self) -> None:
        """Raise the error of a watch that ended (the figures would be wrong without it)."""
        for task in self.tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise RuntimeError("a watch failed") from task.exception()

    async def _notify(self) -> None:
        self.seen.last_change = time.time()
        async with self.changed:
            self.changed.notify_all()

    async def _watch_jobs(self) -> None:
        stream = self.client.watch(
            batch_v1.Job,
            namespace=ALL_NAMESPACES,
            labels=CREATED_BY,
            server_timeout=240,
            on_error=retry_watch,
        )
        async for event, job in stream:
            now = time.time()
            meta = job.metadata
            assert meta is not None
            owners = [item.name for item in meta.ownerReferences or []]
            key = (str(meta.namespace), owners[0] if owners else str(meta.name))
            uid = str(meta.uid)
            if event == "ADDED" and uid not in self.seen.jobs:
                self.seen.jobs.add(uid)
                self.seen.job_added[key].append(now)
                self.seen.most_jobs = max(self.seen.most_jobs, len(self.seen.jobs))
            elif event == "DELETED" and uid in self.seen.jobs:
                self.seen.jobs.discard(uid)
                self.seen.job_deleted[key].append(now)
            await self._notify()

    async def _watch_pods(self) -> None:
        stream = self.client.watch(
            core_v1.Pod,
            namespace=ALL_NAMESPACES,
            labels=CREATED_BY,
            server_timeout=240,
            on_error=retry_watch,
        )
        async for event, pod in stream:
            uid = str(pod.metadata.uid if pod.metadata else "")
            phase = pod.status.phase if pod.status else None
            if event != "DELETED" and phase == "Running":
                self.seen.running_pods.add(uid)
                self.seen.most_running_pods = max(
                    self.seen.most_running_pods, len(self.seen.running_pods)
                )
            else:
                self.seen.running_pods.discard(uid)

    async def _watch_sources(self) -> None:
        stream = self.client.watch(
            ReplicationSource,
            namespace=ALL_NAMESPACES,
            server_timeout=240,
            on_error=retry_watch,
        )
        async for event, source in stream:
            meta = source.metadata
            key = (str(meta.namespace), str(meta.name))
            if event == "DELETED":
                self.seen.statuses.pop(key, None)
                continue
            status = dict(source.status or {})
            if self.seen.statuses.get(key) != status:
                self.seen.statuses[key] = status
                self.seen.status_changes += 1
            await self._notify()

    async def until(self, done: Callable[[Observed], bool], *, what: str, timeout: float) -> float:
        """Wait until ``done(observed)`` holds; return the time it first did."""
        deadline = time.monotonic() + timeout
        async with self.changed:
            while not done(self.seen):
                self.check()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), timeout=min(left, 5.0))
        return time.time()

    async def quiet(self, *, seconds: float, timeout: float) -> None:
        """Wait until no mover Job exists and no source status changed for ``seconds``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check()
            if not self.seen.jobs and time.time() - self.seen.last_change >= seconds:
                return
            await asyncio.sleep(1)
        raise TimeoutError(f"the fleet did not settle within {timeout:.0f} s")


def first_after(times: Sequence[float], moment: float) -> float | None:
    """Return the first time in ``times`` at or after ``moment``."""
    return next((item for item in times if item >= moment), None)


def condition_reason(status: Mapping[str, Any]) -> str | None:
    """Return the reason of the Synchronizing condition of a status."""
    for item in status.get("conditions") or []:
        if item.get("type") == "Synchronizing":
            return str(item.get("reason"))
    return None


def parse_time(text: str) -> float:
    """Return a Kubernetes timestamp as seconds since the epoch."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# --- talking to the cluster -----------------------------------------------------------------


async def in_parallel(
    items: Sequence[Any], action: Callable[[Any], Awaitable[object]], *, limit: int = 24
) -> None:
    """Run ``action`` on every item, at most ``limit`` at once."""
    gate = asyncio.Semaphore(limit)

    async def one(item: Any) -> None:
        async with gate:
            await action(item)

    await asyncio.gather(*(one(item) for item in items))


async def create_fleet(
    client: lightkube.AsyncClient, keys: Sequence[Key], *, schedule: str
) -> None:
    """Server-side apply the namespaces, then every source's PVC, Secret and source."""
    for namespace in sorted({namespace for namespace, _ in keys}):
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        await client.apply(codecs.from_dict(body), field_manager=FIELD_MANAGER, force=True)

    async def create(key: Key) -> None:
        for body in manifests(key, schedule=schedule):
            await client.apply(codecs.from_dict(body), field_manager=FIELD_MANAGER, force=True)

    await in_parallel(keys, create)


async def patch_trigger(
    client: lightkube.AsyncClient, key: Key, trigger: Mapping[str, Any]
) -> float:
    """Merge ``trigger`` into the source's spec.trigger; return when the request was sent."""
    sent = time.time()
    await client.patch(
        ReplicationSource,
        key[1],
        {"spec": {"trigger": dict(trigger)}},
        namespace=key[0],
        patch_type=PatchType.MERGE,
    )
    return sent


# --- the audit log --------------------------------------------------------------------------


def audit_files(plane: controlplane.ControlPlane) -> list[Path]:
    """Return the audit log files, rotated ones first (empty before the log exists)."""
    return plane.audit_files()


def operator_requests(
    files: Sequence[Path], *, since: float, until: float
) -> Iterator[dict[str, Any]]:
    """Yield the operator's completed API requests received in [since, until)."""
    for path in files:
        if not path.exists():
            continue
        with path.open(errors="replace") as lines:
            for line in lines:
                if "pyvolsync-operator" not in line:
                    continue
                event = json.loads(line)
                if not str(event.get("userAgent", "")).startswith(OPERATOR_AGENTS):
                    continue
                if event.get("stage") not in ("ResponseComplete", "Panic"):
                    continue
                received = parse_time(event["requestReceivedTimestamp"])
                if since <= received < until:
                    yield event


def request_summary(
    files: Sequence[Path], *, since: float, until: float, sources: int
) -> dict[str, Any]:
    """Count the operator's requests in a window: by verb and resource, and per object.

    Watches are long-running and per resource type, so they are counted apart from the
    requests a reconcile makes.
    """
    by_kind: collections.Counter[str] = collections.Counter()
    by_object: collections.Counter[str] = collections.Counter()
    watches = 0
    for event in operator_requests(files, since=since, until=until):
        reference = event.get("objectRef") or {}
        resource = reference.get("resource", "?")
        if reference.get("subresource"):
            resource += "/" + reference["subresource"]
        if event.get("verb") == "watch":
            watches += 1
            continue
        by_kind[f"{event.get('verb')} {resource}"] += 1
        if reference.get("name"):
            by_object[f"{resource} {reference.get('namespace', '')}/{reference['name']}"] += 1
    total = sum(by_kind.values())
    hours = max(until - since, 1e-9) / 3600
    busiest = by_object.most_common(1)
    return {
        "window_seconds": round(until - since, 1),
        "requests": total,
        "watch_requests": watches,
        "requests_per_source_per_hour": round(total / max(sources, 1) / hours, 3),
        "by_verb_and_resource": dict(by_kind.most_common()),
        "most_requests_on_one_object": busiest[0][1] if busiest else 0,
        "busiest_object": busiest[0][0] if busiest else None,
    }


# --- the environment ------------------------------------------------------------------------


def machine_facts() -> dict[str, Any]:
    """Return bench.machine's description, plus the 1/5/15-minute load averages."""
    restic = shutil.which("restic") or str(
        Path(os.environ.get("PYVOLSYNC_CACHE") or Path.home() / ".cache/pyvolsync")
        / "restic-0.18.1"
        / "restic"
    )
    facts = machine.describe(restic=restic)
    facts["load_average"] = [round(value, 2) for value in os.getloadavg()]
    return facts


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


class BenchOperator(support.Operator):
    """The test suite's operator process; under pyinstrument when ``PROFILE_VARIABLE`` names a
    file (the profiling session is saved there when the operator stops)."""

    def command(self) -> list[str]:
        profile = os.environ.get(PROFILE_VARIABLE)
        if not profile:
            return super().command()
        profiler = [sys.executable, "-m", "pyinstrument", "-i", "0.005", "-r", "pyisession"]
        profiler += ["-o", profile]
        return [*profiler, *super().command()]


@dataclasses.dataclass
class Environment:
    """A started control plane and operator, an API client and the watches."""

    plane: controlplane.ControlPlane
    operator: BenchOperator
    client: lightkube.AsyncClient
    watches: Watches
    keys: list[Key]

    @property
    def pid(self) -> int:
        assert self.operator.process is not None
        return self.operator.process.pid

    def usage(self) -> Usage:
        return usage(self.pid)

    def requests(self, since: float, until: float) -> dict[str, Any]:
        files = audit_files(self.plane)
        return request_summary(files, since=since, until=until, sources=len(self.keys))


@contextlib.contextmanager
def local_cluster(keep: Path | None = None) -> Iterator[tuple[controlplane.ControlPlane, Path]]:
    """A fresh control plane in a temporary directory (kept at ``keep`` if given)."""
    directory = Path(tempfile.mkdtemp(prefix="pyvolsync-bench-")) if keep is None else keep
    directory.mkdir(parents=True, exist_ok=True)
    plane = controlplane.ControlPlane(directory / "cluster", progress=say)
    started = time.monotonic()
    plane.start()
    say(f"control plane up in {time.monotonic() - started:.0f} s at {directory}")
    try:
        support.install_crds(plane)
        yield plane, directory
    finally:
        plane.stop()
        if keep is None:
            shutil.rmtree(directory, ignore_errors=True)


async def open_environment(
    plane: controlplane.ControlPlane,
    directory: Path,
    keys: list[Key],
    *,
    operator_arguments: Sequence[str],
) -> Environment:
    """Start the watches and the operator (no-op mover image) on a running plane."""
    client = lightkube.AsyncClient(
        lightkube.KubeConfig.from_file(plane.kubeconfig), field_manager=FIELD_MANAGER
    )
    watches = Watches(client)
    await watches.start()
    operator = BenchOperator(plane, directory, "--mover-image", NOOP_IMAGE, *operator_arguments)

    operator.start()
    return Environment(plane, operator, client, watches, keys)


async def close_environment(environment: Environment) -> None:
    environment.operator.stop()
    await environment.watches.stop()
    await environment.client.close()


async def wait_reconciled(environment: Environment, *, reason: str, timeout: float) -> float:
    """Wait until every source's condition has ``reason``; return when that was seen."""
    keys = environment.keys

    def done(seen: Observed) -> bool:
        return all(condition_reason(seen.statuses.get(key) or {}) == reason for key in keys)

    return await environment.watches.until(
        done, what=f"every source to report {reason}", timeout=timeout
    )


def write_result(result: Mapping[str, Any], name: str) -> Path:
    """Write ``bench/results/<name>.json``; return its path."""
    path = Path(__file__).with_name("results") / f"{name}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


OptionsType = TypeVar("OptionsType")


def options_of(kind: type[OptionsType], value: object) -> OptionsType:
    """Return a benchmark's options dataclass from itself, an argparse namespace, a mapping of
    the same names, or None (the defaults): `make bench` and the command line both call `run`."""
    if value is None:
        return kind()
    if isinstance(value, kind):
        return value
    found = dict(value) if isinstance(value, Mapping) else vars(value)
    names = {field.name for field in dataclasses.fields(kind)}  # type: ignore[arg-type]
    return kind(**{key: item for key, item in found.items() if key in names})


def command_line(module: str, options: object) -> str:
    """Return the command that reruns a benchmark with `options`: only what differs from the
    defaults, `keep` (a local directory) left out."""
    words = ["python", "-m", module]
    defaults = type(options)()
    for field in dataclasses.fields(options):  # type: ignore[arg-type]
        value = getattr(options, field.name)
        if field.name != "keep" and value != getattr(defaults, field.name):
            words += [f"--{field.name.replace('_', '-')}", str(value)]
    return shlex.join(words)


def fleet_parser(module: str, description: str | None, defaults: Any) -> argparse.ArgumentParser:
    """Return a benchmark's argument parser with the options every fleet benchmark has:
    ``--sources``, ``--namespaces`` (defaults from ``defaults``) and ``--keep``."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--sources", type=int, default=defaults.sources)
    parser.add_argument("--namespaces", type=int, default=defaults.namespaces)
    parser.add_argument("--keep", type=Path, help="keep the cluster's directory here")
    return parser


def run_on_cluster(
    name: str,
    chosen: Any,
    measure: Callable[[controlplane.ControlPlane, Path], dict[str, Any]],
    verdicts: Callable[[Mapping[str, Any]], dict[str, bool]],
    **facts_of_run: Any,
) -> dict[str, Any]:
    """Run ``measure`` on a fresh local cluster; return (and write) the results document: the
    command, the machine, the load, the fleet's size, the figures and their verdicts."""
    facts = machine_facts()
    began = time.monotonic()
    with local_cluster(chosen.keep) as (plane, directory):
        measured = measure(plane, directory)
    result = {
        "benchmark": name,
        "command": command_line(f"bench.{name}", chosen),
        "machine": facts,
        "load_average_after": load_average(),
        "duration_seconds": round(time.monotonic() - began),
        "sources": chosen.sources,
        "namespaces": chosen.namespaces,
        **facts_of_run,
        **measured,
    }
    result["verdicts"] = verdicts(result)
    write_result(result, name)
    return result
