"""``make bench-mover``: what ``pyvolsync-mover`` costs on top of the bare engine, side by side.

The mover only orchestrates the engine (restic, or with ``--engine kopia`` kopia), so its cost
should vanish next to the engine's own work. This benchmark checks that claim on one generated
data set, in one run: a first full backup, an unchanged incremental backup and a full restore,
each by the bare engine and by the mover, on fresh copies of one template repository. The
sides alternate which goes first on every repeat, each timed step starts from a synced (and,
when the kernel allows, dropped) page cache, and the figures are medians. Every restore is
verified against the data set's manifest digest, so a fast but wrong restore cannot win. The
wrapper's own peak RSS is measured by ``rsslauncher``.

Targets (issue 2, and the same for kopia): full backup and restore within 3% of the bare
engine, an unchanged incremental within 0.3 s of it, and the wrapper's peak RSS under 60 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import secrets
import shlex
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from demo import moverrun, tree, volumes
from rich import box
from rich import console as rich_console
from rich import table as rich_table

from bench import datasets, machine, sides, stats

FULL = "full backup"
INCREMENTAL = "incremental"
"""An incremental backup of the same, unchanged tree: the wrapper's fixed cost shows here."""
RESTORE = "full restore"
RESTORE_SYNCED = "restore (+sync)"
"""The mover syncs what it restored (as upstream's script does); the bare engine does not."""
WRAPPER = "pyvolsync-mover"
ENGINES = ("restic", "kopia")
TARGETS = {
    FULL: stats.Target(max_ratio=1.03),
    INCREMENTAL: stats.Target(max_extra_seconds=0.3),
    RESTORE: stats.Target(max_ratio=1.03),
    RESTORE_SYNCED: stats.Target(),
}
KOPIA_INCREMENTAL = stats.Target(max_extra_seconds=1.0)
"""kopia's mover runs one command more than the bare minimum on every backup, ``kopia policy
set`` (so retention applies to the identity's snapshots, as in the fork), and every kopia
command opens the repository: its fixed cost is a repository open larger than restic's."""


def target(step: str, engine: str) -> stats.Target:
    """Return the target of ``step`` for ``engine``."""
    if engine == "kopia" and step == INCREMENTAL:
        return KOPIA_INCREMENTAL
    return TARGETS[step]


RSS_LIMIT_BYTES = 60 * stats.MEGABYTE
DROP_CACHES = Path("/proc/sys/vm/drop_caches")
RESULTS = Path(__file__).with_name("results") / "mover.json"


@dataclasses.dataclass(kw_only=True)
class Bench:
    """One benchmark run: the data set, both sides, and the timings collected so far."""

    dataset: datasets.Dataset
    work: Path
    bare: sides.Bare
    wrapper: sides.Wrapper
    drop_caches: bool
    verify: bool
    console: rich_console.Console
    timings: dict[str, dict[str, list[sides.Timing]]] = dataclasses.field(default_factory=dict)

    @property
    def template(self) -> Path:
        return self.work / "template-home" / "repository"

    @property
    def mount_point(self) -> Path:
        return self.bare.mount_point

    def repeat(self, index: int) -> None:
        """Run every step once on both sides; odd repeats let the wrapper go first."""
        order = (self.bare, self.wrapper) if index % 2 == 0 else (self.wrapper, self.bare)
        for side in order:
            side.reset(self.template)
        with volumes.mounted(self.dataset.tree, mount_point=self.mount_point):
            for step in (FULL, INCREMENTAL):
                for side in order:
                    self.timed(step, side, side.backup, index=index)
        for side in order:
            self.restore(side, index=index)

    def timed(
        self, step: str, side: sides.Side, action: Callable[[], sides.Timing], *, index: int
    ) -> sides.Timing:
        """Settle the page cache, run ``action``, record and print its timing."""
        settle(drop_caches=self.drop_caches)
        timing = action()
        self.timings.setdefault(step, {}).setdefault(side.name, []).append(timing)
        rss = (
            f"  (own RSS {timing.peak_rss_bytes / 2**20:.1f} MiB)" if timing.peak_rss_bytes else ""
        )
        short = "mover" if side.name == WRAPPER else "bare"
        self.console.print(
            f"  repeat {index + 1}  {step:<12} {short:<5} {timing.seconds:8.2f} s{rss}"
        )
        return timing

    def restore(self, side: sides.Bare | sides.Wrapper, *, index: int) -> None:
        """Restore onto an empty volume mounted at the data path, then verify and remove it."""
        volume = self.work / "restore-volume"
        volume.mkdir()
        try:
            with volumes.mounted(volume, mount_point=self.mount_point):
                timing = self.timed(RESTORE, side, side.restore, index=index)
            # The mover syncs the restored volume itself; the bare engine does not, so this row
            # adds bare's separately timed `sync -f` to its restore.
            synced = dataclasses.replace(
                timing, seconds=timing.seconds + (timing.sync_seconds or 0.0), peak_rss_bytes=None
            )
            self.timings.setdefault(RESTORE_SYNCED, {}).setdefault(side.name, []).append(synced)
            if self.verify and tree.digest(tree.manifest(volume)) != self.dataset.digest:
                raise sides.RunError(f"{side.name} restored a tree that differs from the data set")
        finally:
            shutil.rmtree(volume)


def settle(*, drop_caches: bool) -> None:
    """Flush dirty pages (so no step pays for an earlier one's writes) and maybe drop caches."""
    os.sync()
    if drop_caches:
        DROP_CACHES.write_text("3\n")


def can_drop_caches() -> bool:
    """Return True when this process may drop the kernel's page cache (root, writable /proc)."""
    try:
        settle(drop_caches=True)
    except OSError:
        return False
    return True


def parse(arguments: Sequence[str] | None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.mover", description=__doc__.split("\n")[0]
    )
    add_run_options(parser, size="1G", files=50_000)
    parser.add_argument("--engine", choices=ENGINES, default="restic", help="the engine")
    parser.add_argument("--no-verify", action="store_true", help="skip verifying restores")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write the results")
    return parser.parse_args(arguments)


def add_run_options(parser: argparse.ArgumentParser, *, size: str, files: int) -> None:
    """Add the options of every benchmark on a generated data set: its size, repeats, cache."""
    parser.add_argument("--size", type=datasets.parse_size, default=size, help="data set size")
    parser.add_argument("--files", type=int, default=files, help="number of files")
    parser.add_argument("--repeat", type=int, default=3, help="repeats; figures are medians")
    parser.add_argument(
        "--cache",
        choices=("auto", "drop", "warm"),
        default="auto",
        help="drop the page cache before each timed step (auto: when permitted) or keep it warm",
    )


def main(arguments: Sequence[str] | None = None) -> int:
    """Run the benchmark; return 0 when every run succeeded (targets are reported, not enforced)."""
    options = parse(arguments)
    console = rich_console.Console(highlight=False)
    tool = shutil.which(options.engine)
    if tool is None:
        console.print(
            f"[red]{options.engine} is not on PATH[/]; run `make bench-mover` (it builds it)"
        )
        return 2
    try:
        moverrun.program()
        document = run(options, tool=tool, console=console)
    except (sides.RunError, FileNotFoundError) as error:
        console.print(f"[bold red]benchmark failed:[/] {error}", markup=True)
        return 1
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(document, indent=2) + "\n")
    console.print(f"results written to {options.json}")
    return 0


def run(options: argparse.Namespace, *, tool: str, console: rich_console.Console) -> dict[str, Any]:
    """Prepare the data set, run every repeat, and return the results document."""
    engine: str = options.engine
    drop = options.cache == "drop" or (options.cache == "auto" and can_drop_caches())
    dataset = prepare_dataset(options, console=console)
    described = machine.describe(**{engine: tool})
    console.print(
        f"{described[engine]}; {described['cpus']} CPUs ({described['cpu_model']}); "
        f"page cache {'dropped' if drop else 'warm'} before each step; {options.repeat} repeats"
    )
    cache = datasets.cache_root()
    with work_directory(cache) as work:
        bench = new_bench(work, dataset=dataset, engine=engine, tool=tool, console=console)
        bench.drop_caches, bench.verify = drop, not options.no_verify
        create_template(bench)
        for index in range(options.repeat):
            bench.repeat(index)
        opening = statistics.median(open_seconds(bench) for _ in range(3))
    bare = bench.bare.name
    comparisons = [
        compare(step, bench.timings[step], bare=bare, dataset=dataset) for step in TARGETS
    ]
    cpu = [
        compare(step, bench.timings[step], bare=bare, dataset=dataset, cpu=True)
        for step in (FULL, INCREMENTAL, RESTORE)
    ]
    document = results(options, comparisons=comparisons, bench=bench, described=described)
    document["cpu_comparisons"] = [item.to_dict() for item in cpu]
    document["repository_open_seconds"] = round(opening, 3)
    document["machine"]["load_average_1m_end"] = round(os.getloadavg()[0], 2)
    console.print(render(comparisons, document=document))
    console.print(render_cpu(cpu))
    return document


@contextlib.contextmanager
def work_directory(cache: Path) -> Iterator[Path]:
    """Yield a fresh work directory next to the data sets (renames need one filesystem).

    Work directories hold repositories of a gigabyte or more, so those left behind by a run that
    was killed (its process is gone) are removed first.
    """
    for stale in cache.glob("bench-work-*"):
        if not process_alive(stale.name.removeprefix("bench-work-")):
            shutil.rmtree(stale, ignore_errors=True)
    work = cache / f"bench-work-{os.getpid()}"
    work.mkdir()
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def process_alive(pid: str) -> bool:
    """Return True when ``pid`` names a running process."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def prepare_dataset(
    options: argparse.Namespace, *, console: rich_console.Console
) -> datasets.Dataset:
    """Return the data set, generated on first use; check it is intact (this also warms it)."""
    cache = datasets.cache_root()
    cache.mkdir(parents=True, exist_ok=True)
    name = f"{options.size / 2**20:.0f} MiB in {options.files} files"
    if datasets.load(datasets.location(total_bytes=options.size, files=options.files, cache=cache)):
        console.print(f"Using the cached data set ({name})")
    else:
        console.print(f"Generating the data set ({name}); it is cached for later runs")
    dataset = datasets.ensure(total_bytes=options.size, files=options.files, cache=cache)
    if tree.digest(tree.manifest(dataset.tree)) != dataset.digest:
        shutil.rmtree(dataset.root)
        raise sides.RunError(f"the cached data set at {dataset.root} was damaged; rerun")
    return dataset


def new_bench(
    work: Path,
    *,
    dataset: datasets.Dataset,
    engine: str,
    tool: str,
    console: rich_console.Console,
) -> Bench:
    """Return a benchmark whose two sides share a password, a mount point and the engine."""
    shared: dict[str, Any] = {
        "mount_point": work / "mnt" / "data",
        "engine": engine,
        "tool": tool,
        "password": secrets.token_urlsafe(24),
    }
    return Bench(
        dataset=dataset,
        work=work,
        bare=sides.Bare(name=f"bare {engine}", home=work / "bare", **shared),
        wrapper=sides.Wrapper(name=WRAPPER, home=work / "wrapper", **shared),
        drop_caches=False,
        verify=True,
        console=console,
    )


def template_side(bench: Bench) -> sides.Bare:
    """Return a bare side whose repository is the template (to create it, or open it)."""
    return sides.Bare(
        name="template",
        home=bench.work / "template-home",
        mount_point=bench.work / "template-home",
        engine=bench.bare.engine,
        tool=bench.bare.tool,
        password=bench.bare.password,
    )


def create_template(bench: Bench) -> None:
    """Create the empty template repository both sides start each repeat from."""
    side = template_side(bench)
    side.cache.mkdir(parents=True)
    if side.engine == "kopia":
        bench.template.mkdir()
        side.execute(["repository", "create", "filesystem", f"--path={bench.template}",
                      f"--cache-directory={side.cache}", "--no-persist-credentials"])  # fmt: skip
    else:
        side.execute(["init"])


def open_seconds(bench: Bench) -> float:
    """Return how long one engine command that opens the template repository takes."""
    side = template_side(bench)
    started = time.perf_counter()
    if side.engine == "kopia":
        side.execute(side.kopia_connect())
    else:
        side.execute(["cat", "config", "--no-lock"])
    return time.perf_counter() - started


def compare(
    step: str,
    timings: dict[str, list[sides.Timing]],
    *,
    bare: str,
    dataset: datasets.Dataset,
    cpu: bool = False,
) -> stats.Comparison:
    """Return the comparison of one step: of wall-clock times, or of CPU times (no target)."""
    engine = bare.removeprefix("bare ")

    def seconds(timing: sides.Timing) -> float:
        return timing.cpu_seconds if cpu else timing.seconds

    return stats.Comparison(
        step=step,
        bare_seconds=tuple(map(seconds, timings[bare])),
        wrapper_seconds=tuple(map(seconds, timings[WRAPPER])),
        data_bytes=dataset.bytes,
        target=stats.Target() if cpu else target(step, engine),
    )


def results(
    options: argparse.Namespace,
    *,
    comparisons: Sequence[stats.Comparison],
    bench: Bench,
    described: dict[str, Any],
) -> dict[str, Any]:
    """Return the JSON results document."""
    measured = {
        step: [timing.peak_rss_bytes or 0 for timing in per_side.get(WRAPPER, [])]
        for step, per_side in bench.timings.items()
    }
    by_step = {step: max(values) for step, values in measured.items() if any(values)}
    peak = max(by_step.values(), default=0)
    return {
        "benchmark": "mover",
        "engine": bench.bare.engine,
        "command": shlex.join(["python", "-m", "bench.mover", *(sys.argv[1:])]),
        "machine": described,
        "dataset": {"files": bench.dataset.files, "bytes": bench.dataset.bytes},
        "page_cache": "dropped before each step" if bench.drop_caches else "warm",
        "repeat": options.repeat,
        "restores_verified": bench.verify,
        "comparisons": [comparison.to_dict() for comparison in comparisons],
        "wrapper_peak_rss_bytes": peak,
        "wrapper_peak_rss_bytes_by_step": by_step,
        "wrapper_peak_rss_limit_bytes": RSS_LIMIT_BYTES,
        "wrapper_peak_rss_met": 0 < peak < RSS_LIMIT_BYTES,
        "all_targets_met": all(item.met for item in comparisons) and 0 < peak < RSS_LIMIT_BYTES,
    }


def render(
    comparisons: Sequence[stats.Comparison], *, document: dict[str, Any]
) -> rich_table.Table:
    """Return the results table."""
    dataset = document["dataset"]
    table = rich_table.Table(
        title=f"pyvolsync-mover vs bare {document['engine']}: "
        f"{dataset['bytes'] / 2**20:.0f} MiB in "
        f"{dataset['files']} files, median of {document['repeat']}",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption=caption(document),
    )
    headers = (
        "step",
        "bare\ns",
        "mover\ns",
        "ratio",
        "extra\ns",
        "bare\nMB/s",
        "mover\nMB/s",
        "target",
    )
    for header in headers:
        table.add_column(header, justify="left" if header in ("step", "target") else "right")
    for item in comparisons:
        verdict = ("[green]✓[/]" if item.met else "[red]✗[/]") if str(item.target) else ""
        table.add_row(
            item.step,
            f"{item.bare_median:.2f}",
            f"{item.wrapper_median:.2f}",
            f"{item.ratio:.3f}",
            f"{item.extra_seconds:+.2f}",
            f"{stats.throughput(item.data_bytes, item.bare_median):.1f}",
            f"{stats.throughput(item.data_bytes, item.wrapper_median):.1f}",
            f"{item.target or '(info)'} {verdict}",
        )
    return table


def render_cpu(comparisons: Sequence[stats.Comparison]) -> rich_table.Table:
    """Return the table of CPU times (user + system, the engine's included): less noisy."""
    table = rich_table.Table(
        title="CPU time of all processes of a step (user + system), median",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for header in ("step", "bare\ns", "mover\ns", "ratio", "extra\ns"):
        table.add_column(header, justify="left" if header == "step" else "right")
    for item in comparisons:
        table.add_row(
            item.step,
            f"{item.bare_median:.2f}",
            f"{item.wrapper_median:.2f}",
            f"{item.ratio:.3f}",
            f"{item.extra_seconds:+.2f}",
        )
    return table


def caption(document: dict[str, Any]) -> str:
    """Return the caption: the wrapper's peak memory, and what one repository open costs."""
    peak = document["wrapper_peak_rss_bytes"]
    verdict = "met" if document["wrapper_peak_rss_met"] else "missed"
    return (
        f"mover's own peak RSS ({document['engine']} excluded): {peak / stats.MEGABYTE:.1f} MB, "
        f"target < 60 MB: {verdict}\nfor scale: one {document['engine']} command that opens the "
        "repository "
        f"takes {document['repository_open_seconds']:.2f} s here"
    )


if __name__ == "__main__":
    sys.exit(main())
