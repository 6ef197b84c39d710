"""``python -m bench.engines``: kopia against restic through the operator, on the same data.

Users pick kopia for its speed; this measures what they would see, end to end: on one fresh
local cluster with the real operator, the same volume (the generated data set) is backed up by a
restic ReplicationSource and by a kopia one, each into its own new repository: the first (full)
backup, then an unchanged incremental, then a restore into a new PVC by a ReplicationDestination.
Each step is timed from the trigger to the object's status saying the sync finished (what
``pyvolsync sync --wait`` waits for), so the Job, the pod and the mover are all in it, the same for
both engines. The engines alternate which goes first on every repeat, each step starts from a
synced (and, when permitted, dropped) page cache, and every restored volume is compared with the
data set's manifest digest. The figures are medians; the ratio is kopia's time over restic's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import lightkube
from demo import tree
from lightkube import codecs
from lightkube.resources import core_v1
from lightkube.types import PatchType
from localcluster import controlplane
from rich import console as rich_console
from tests.e2e import story
from tests.support import operator as support

from bench import bootstrap, datasets, machine, mover, sides, standalone, stats, timeline

NAMESPACE = bootstrap.NAMESPACE
CLAIM = "data"
ENGINES = ("restic", "kopia")
STEPS = ("full backup", "incremental", "restore")
RESULTS = Path(__file__).with_name("results") / "engines.json"
VOLUME_CAPACITY = "20Gi"


def parse(arguments: Sequence[str] | None) -> argparse.Namespace:
    """Return the command-line options."""
    return standalone.parse(
        arguments,
        program="python -m bench.engines",
        description=__doc__.split("\n")[0],
        size="1G",
        files=50_000,
        results=RESULTS,
    )


def main(arguments: Sequence[str] | None = None) -> int:
    """Run the benchmark, print its report and write the results document."""
    return standalone.main(parse(arguments), run=run, render_markdown=render_markdown)


def run(
    options: argparse.Namespace, *, console: rich_console.Console | None = None
) -> dict[str, Any]:
    """Time every step of both engines on one cluster, alternating; return the results."""
    console = console or rich_console.Console(highlight=False)
    tools = {engine: shutil.which(engine) for engine in ENGINES}
    missing = [engine for engine, path in tools.items() if path is None]
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)} not on PATH; run `make bench` first")
    drop = options.cache == "drop" or (options.cache == "auto" and mover.can_drop_caches())
    dataset = mover.prepare_dataset(options, console=console)
    described = machine.describe(**{engine: str(path) for engine, path in tools.items()})
    rounds: dict[str, list[dict[str, float]]] = {engine: [] for engine in ENGINES}
    with (
        mover.work_directory(datasets.cache_root()) as work,
        cluster_with_data(work, dataset=dataset, console=console) as cluster,
    ):
        for index in range(options.repeat):
            order = ENGINES if index % 2 == 0 else tuple(reversed(ENGINES))
            for engine in order:
                figures = one_round(cluster, engine, index=index, drop=drop, dataset=dataset)
                rounds[engine].append(figures)
                console.print(f"  repeat {index + 1}  {engine:<6} " + "  ".join(
                    f"{step} {figures[step]:7.2f} s" for step in STEPS
                ))  # fmt: skip
    described["load_average_1m_end"] = round(os.getloadavg()[0], 2)
    return results(options, rounds=rounds, dataset=dataset, described=described, drop=drop)


class Cluster:
    """The local cluster with the operator running, its client, and where repositories live."""

    def __init__(self, plane: controlplane.ControlPlane, client: lightkube.Client) -> None:
        self.plane = plane
        self.client = client
        self.repository_root = support.repository_root(plane)


@contextlib.contextmanager
def cluster_with_data(
    work: Path, *, dataset: datasets.Dataset, console: rich_console.Console
) -> Iterator[Cluster]:
    """Yield a fresh cluster, its operator ready, with PVC ``data`` holding the data set."""
    plane = controlplane.ControlPlane(work / "cluster")
    console.print("Starting a local cluster and the operator")
    plane.start()
    try:
        support.install_crds(plane)
        with support.running(plane, work):
            cluster = Cluster(plane, plane.client())
            fill_claim(cluster, dataset=dataset, console=console)
            yield cluster
    finally:
        plane.stop()


def fill_claim(
    cluster: Cluster, *, dataset: datasets.Dataset, console: rich_console.Console
) -> None:
    """Create the namespace and PVC ``data`` and copy the data set into its volume."""
    client = cluster.client
    cluster.plane.kubectl("create", "namespace", NAMESPACE)
    bootstrap.wait(
        lambda: bootstrap.found(client, core_v1.ServiceAccount, "default"),
        what="the service account",
    )
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": CLAIM, "namespace": NAMESPACE},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": VOLUME_CAPACITY}},
        },
    }
    client.create(codecs.from_dict(claim))
    volume = bootstrap.wait(lambda: bootstrap.bound_volume(client, CLAIM), what="PVC data to bind")
    console.print(f"Copying the data set into {volume}")
    subprocess.run(["cp", "-a", f"{dataset.tree}/.", str(volume)], check=True)
    bootstrap.same_data(dataset, tree.manifest(volume))


def secret(engine: str, name: str, *, password: str) -> dict[str, Any]:
    """Return the repository Secret of a new repository of ``engine`` at /repository/<name>."""
    return story.repository_secret(
        name, NAMESPACE, password=password, repository=f"/repository/{name}", engine=engine
    )


def secret_name(name: str) -> str:
    """Return the name of the Secret ``secret`` makes (the app component's naming)."""
    return f"{name}-volsync-secret"


def source(engine: str, name: str) -> dict[str, Any]:
    """Return the ReplicationSource backing up PVC ``data`` with ``engine`` (manual trigger)."""
    spec = {
        "sourcePVC": CLAIM,
        "trigger": {"manual": "full"},
        engine: {"repository": secret_name(name), "copyMethod": "Direct"},
    }
    return custom("ReplicationSource", name, spec)


def destination(engine: str, name: str) -> dict[str, Any]:
    """Return the ReplicationDestination restoring source ``name``'s backup into a new PVC."""
    section: dict[str, Any] = {
        "repository": secret_name(name),
        "copyMethod": "Direct",
        "capacity": VOLUME_CAPACITY,
        "accessModes": ["ReadWriteOnce"],
    }
    if engine == "kopia":
        section["sourceIdentity"] = {"sourceName": name, "sourceNamespace": NAMESPACE}
    return custom("ReplicationDestination", f"{name}-restore", {
        "trigger": {"manual": "restore"}, engine: section
    })  # fmt: skip


def custom(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": spec,
    }


def one_round(
    cluster: Cluster, engine: str, *, index: int, drop: bool, dataset: datasets.Dataset
) -> dict[str, float]:
    """Back up with ``engine`` (full, then unchanged), restore, verify; return the seconds."""
    name = f"{engine}-{index}"
    client = cluster.client
    client.create(codecs.from_dict(secret(engine, name, password=secrets.token_urlsafe(18))))
    figures: dict[str, float] = {}
    try:
        mover.settle(drop_caches=drop)
        figures["full backup"] = timed_sync(cluster, source(engine, name), "full", create=True)
        mover.settle(drop_caches=drop)
        trigger = {"spec": {"trigger": {"manual": "incremental"}}}
        figures["incremental"] = timed_sync(
            cluster, source(engine, name), "incremental", patch=trigger
        )
        mover.settle(drop_caches=drop)
        restore = destination(engine, name)
        figures["restore"] = timed_sync(cluster, restore, "restore", create=True)
        verify_restore(cluster, restore, dataset=dataset)
    finally:
        remove_round(cluster, name)
    return figures


def resource_of(document: Mapping[str, Any]) -> Any:
    if document["kind"] == "ReplicationSource":
        return timeline.ReplicationSource
    return timeline.ReplicationDestination


def timed_sync(
    cluster: Cluster,
    document: dict[str, Any],
    trigger: str,
    *,
    create: bool = False,
    patch: dict[str, Any] | None = None,
) -> float:
    """Create or patch ``document``; return the seconds until its ``trigger`` sync succeeded."""
    resource, name = resource_of(document), document["metadata"]["name"]
    started = time.monotonic()
    if create:
        cluster.client.create(codecs.from_dict(document))
    else:
        cluster.client.patch(
            resource, name, patch or {}, namespace=NAMESPACE, patch_type=PatchType.MERGE
        )
    bootstrap.wait(
        lambda: synced(cluster.client, resource, name, trigger),
        what=f"{document['kind']} {name} to finish the {trigger!r} sync",
        interval=0.2,
    )
    return round(time.monotonic() - started, 3)


def synced(client: lightkube.Client, resource: Any, name: str, trigger: str) -> bool:
    """Return True once the object's manual sync ``trigger`` succeeded; raise if it failed."""
    status = bootstrap.body(client.get(resource, name, namespace=NAMESPACE)).get("status") or {}
    if status.get("lastManualSync") != trigger:
        result = status.get("lastSyncResult") or {}
        if result.get("outcome") == "failed":
            raise sides.RunError(f"{name}: the {trigger!r} sync failed: {result}")
        return False
    outcome = (status.get("lastSyncResult") or {}).get("outcome", "succeeded")
    if outcome not in ("succeeded", "succeeded-with-warnings"):
        raise sides.RunError(f"{name}: the {trigger!r} sync ended {outcome}: {status}")
    return True


def verify_restore(cluster: Cluster, restore: dict[str, Any], *, dataset: datasets.Dataset) -> None:
    """Check that the destination's new PVC holds exactly the data set."""
    name = restore["metadata"]["name"]
    status = (
        bootstrap.body(
            cluster.client.get(timeline.ReplicationDestination, name, namespace=NAMESPACE)
        ).get("status")
        or {}
    )
    claim = (status.get("latestImage") or {}).get("name")
    volume = bootstrap.bound_volume(cluster.client, str(claim)) if claim else None
    if volume is None:
        raise sides.RunError(f"{name} published no restored volume: {status}")
    bootstrap.same_data(dataset, tree.manifest(volume))


def remove_round(cluster: Cluster, name: str) -> None:
    """Delete the round's objects and repository, and wait until its Jobs and PVC are gone."""
    client = cluster.client
    for resource, object_name in (
        (timeline.ReplicationDestination, f"{name}-restore"),
        (timeline.ReplicationSource, name),
        (core_v1.Secret, secret_name(name)),
    ):
        with contextlib.suppress(lightkube.ApiError):
            client.delete(resource, object_name, namespace=NAMESPACE)
    bootstrap.wait(lambda: not round_leftovers(client), what=f"{name}'s objects to be removed")
    shutil.rmtree(cluster.repository_root / name, ignore_errors=True)


def round_leftovers(client: lightkube.Client) -> list[str]:
    """Return the claims (other than the data set's), Jobs and pods still in the namespace."""
    return [
        name
        for name in bootstrap.leftovers(client)
        if name != f"PersistentVolumeClaim/{CLAIM}" and not name.startswith("PersistentVolume/")
    ]


def results(
    options: argparse.Namespace,
    *,
    rounds: Mapping[str, list[dict[str, float]]],
    dataset: datasets.Dataset,
    described: dict[str, Any],
    drop: bool,
) -> dict[str, Any]:
    """Return the results document: every round's seconds and each step's medians and ratio."""
    steps = []
    for step in STEPS:
        seconds = {engine: [item[step] for item in rounds[engine]] for engine in ENGINES}
        medians = {engine: statistics.median(values) for engine, values in seconds.items()}
        steps.append({
            "step": step,
            "seconds": seconds,
            "median_seconds": medians,
            "kopia_over_restic": round(medians["kopia"] / medians["restic"], 3),
            "megabytes_per_second": {
                engine: round(stats.throughput(dataset.bytes, value), 1)
                for engine, value in medians.items()
            },
        })  # fmt: skip
    return {
        "benchmark": "engines",
        "command": command_line(options),
        "machine": described,
        "dataset": {"files": dataset.files, "bytes": dataset.bytes},
        "page_cache": "dropped before each step" if drop else "warm",
        "repeat": options.repeat,
        "restores_verified": True,
        "steps": steps,
    }


def command_line(options: argparse.Namespace) -> str:
    """Return the command that runs the benchmark with ``options`` (defaults left out)."""
    defaults = parse([])
    words = ["python", "-m", "bench.engines"]
    for name in ("size", "files", "repeat", "cache"):
        value = getattr(options, name)
        if value != getattr(defaults, name):
            words += [f"--{name}", f"{value / 2**20:g}M" if name == "size" else str(value)]
    return shlex.join(words)


def summary(result: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    """Return the summary rows: each step's ratio (information: no target, always 'met')."""
    return [
        (f"{item['step']}: kopia / restic (info)", f"{item['kopia_over_restic']:.2f}x", True)
        for item in result["steps"]
    ]


def render_markdown(result: Mapping[str, Any]) -> str:
    """Return the section's table: medians per engine, the ratio, the raw repeats."""
    dataset = result["dataset"]
    described = result["machine"]
    lines = [
        f"`{result['command']}`: {dataset['bytes'] / 2**20:.0f} MiB in {dataset['files']:,} "
        f"files, {result['repeat']} repeats per engine (medians), page cache "
        f"{result['page_cache']}, {described.get('restic', 'restic')}, "
        f"{described.get('kopia', 'kopia')}; load average {described.get('load_average_1m')} at "
        f"the start and {described.get('load_average_1m_end')} at the end.",
        "",
        "| step (trigger → status) | restic | kopia | kopia / restic | MB/s restic / kopia |",
        "|---|---:|---:|---:|---:|",
    ]
    for item in result["steps"]:
        medians, rates = item["median_seconds"], item["megabytes_per_second"]
        lines.append(
            f"| {item['step']} | {medians['restic']:.1f} s | {medians['kopia']:.1f} s | "
            f"{item['kopia_over_restic']:.2f} | {rates['restic']:.1f} / {rates['kopia']:.1f} |"
        )
    repeats = "; ".join(
        f"{item['step']} restic {' / '.join(f'{value:.1f}' for value in item['seconds']['restic'])}"
        f", kopia {' / '.join(f'{value:.1f}' for value in item['seconds']['kopia'])}"
        for item in result["steps"]
    )
    lines += ["", f"Raw repeats (seconds): {repeats}."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
