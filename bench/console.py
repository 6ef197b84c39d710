"""``python -m bench.console``: the web console's fleet page with a thousand sources.

A person opens the console to find the one source in trouble among many, so the page must come
up fast however big the fleet is, and its changes must arrive without a reload. On a fresh local
cluster this creates ``--sources`` ReplicationSources in ``--namespaces`` namespaces, gives each
a status as a day of hourly backups leaves it (one in fifty failing), starts ``pyvolsync ui``
as a user does and opens the fleet page ``--loads`` times in Debian's headless Chromium:

- first render: the browser's first contentful paint, from the navigation's start;
- fully loaded: the load event's end (every row, the stylesheet and the script);
- live: until the page's event stream is open and following the fleet;
- a change on screen: a source's status patched in the API server (one request, from this
  process), until its row shows it (pushed from the console's watch; no reload, no polling);
- the console's memory: resident and peak after the loads, and the page's HTML size.

No operator runs: the statuses are written as the operator would, so what is measured is the
console alone. The first load is reported apart (cold), the figures are over the others.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightkube
from lightkube.types import PatchType
from playwright import sync_api
from tests.support import console

from bench import fleet, stats
from pyvolsync.kube import client

NAME = "console"
FIRST_RENDER_LIMIT_MS = 1500.0
FULLY_LOADED_LIMIT_MS = 3000.0
CHANGE_LIMIT_MS = 500.0
RSS_LIMIT_BYTES = 200 * 1024 * 1024


@dataclasses.dataclass(frozen=True, kw_only=True)
class Options:
    """The size of the run."""

    sources: int = 1000
    namespaces: int = 20
    loads: int = 6
    changes: int = 10
    keep: Path | None = None


def parse_arguments(argv: list[str] | None = None) -> Options:
    parser = fleet.fleet_parser("bench.console", __doc__, Options)
    parser.add_argument("--loads", type=int, default=Options.loads)
    parser.add_argument("--changes", type=int, default=Options.changes)
    return fleet.options_of(Options, parser.parse_args(argv))


def _time(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def status_of(index: int, now: datetime.datetime) -> dict[str, Any]:
    """Return the status a day of hourly backups leaves (every fiftieth source failing)."""
    failing = index % 50 == 7
    history = [
        {"time": _time(now - datetime.timedelta(hours=24 - hour)), "result": "Successful",
         "durationSeconds": 20.0 + (index + hour) % 30, "bytesAdded": 1_000_000 * (hour % 5),
         "bytesProcessed": 2_000_000_000}
        for hour in range(24)
    ]  # fmt: skip
    last = now - datetime.timedelta(minutes=index % 60)
    return {
        "lastSyncTime": _time(last),
        "lastSyncDuration": "21.5s",
        "nextSyncTime": _time(last + datetime.timedelta(hours=1)),
        "latestMoverStatus": {"result": "Failed" if failing else "Successful", "logs": ""},
        "lastSyncResult": {
            "snapshotID": f"{index:08x}deadbeef",
            "bytesAdded": 1_000_000,
            "message": "the repository cannot be reached; check the NFS server" if failing else "",
        },
        "recentSyncs": history,
        "conditions": [
            {"type": "Synchronizing", "status": "False", "reason": "WaitingForSchedule",
             "message": "Waiting for next scheduled synchronization",
             "lastTransitionTime": _time(last)}
        ],
    }  # fmt: skip


async def populate(plane: Any, keys: list[fleet.Key]) -> None:
    """Create the fleet and write each source's status."""
    kube = client.Kube(client.connect(str(plane.kubeconfig)))
    try:
        await fleet.create_fleet(kube.client, keys, schedule="0 * * * *")
        now = datetime.datetime.now(datetime.UTC)
        numbered = {key: index for index, key in enumerate(keys)}

        async def write(key: fleet.Key) -> None:
            namespace, name = key
            await kube.patch(
                client.Kind.REPLICATION_SOURCE, name,
                {"status": status_of(numbered[key], now)}, namespace=namespace, status=True,
            )  # fmt: skip

        await fleet.in_parallel(keys, write)
    finally:
        await kube.close()


def one_load(page: sync_api.Page, base: str, sources: int) -> dict[str, float]:
    """Open the fleet page once; return its timings in milliseconds."""
    page.goto(f"{base}/", wait_until="load")
    page.wait_for_function("document.body.dataset.live === 'ready'", timeout=60_000)
    live = page.evaluate("performance.now()")
    timings = page.evaluate(
        """() => ({
            firstRender: performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
            loaded: performance.getEntriesByType('navigation')[0].loadEventEnd,
            rows: document.querySelectorAll('#fleet-rows tr').length,
            bytes: performance.getEntriesByType('navigation')[0].transferSize,
        })"""
    )
    if timings["rows"] != sources:
        raise RuntimeError(f"the page showed {timings['rows']} rows of {sources}")
    return {
        "first_render_ms": float(timings["firstRender"] or 0),
        "fully_loaded_ms": float(timings["loaded"]),
        "live_ms": float(live),
        "html_bytes": float(timings["bytes"]),
    }


def change_on_screen(
    page: sync_api.Page, api: lightkube.Client, key: fleet.Key, number: int
) -> float:
    """Patch one source's status; return the milliseconds until its row shows the change."""
    namespace, name = key
    patch = {"status": {"lastSyncResult": {"snapshotID": f"{number:08x}cafef00d"},
                        "latestMoverStatus": {"result": "Failed"}}}  # fmt: skip
    row = f"#source--{namespace}--{name}"
    page.evaluate(f"document.querySelector('{row}').dataset.seen = 'old'")
    started = time.monotonic()
    api.patch(
        client.ReplicationSource.Status, name, patch, namespace=namespace,
        patch_type=PatchType.MERGE,
    )  # fmt: skip
    page.wait_for_function(
        f"document.querySelector('{row}') && !document.querySelector('{row}').dataset.seen"
        f" && document.querySelector('{row} .health').textContent === 'failing'",
        timeout=30_000,
    )
    return (time.monotonic() - started) * 1000


def measure(plane: Any, options: Options) -> dict[str, Any]:
    keys = fleet.fleet_keys(options.sources, options.namespaces)
    began = time.monotonic()
    asyncio.run(populate(plane, keys))
    fleet.say(f"{len(keys)} sources with statuses in {time.monotonic() - began:.0f} s")
    running = console.start_console(plane.kubeconfig)
    base, login = running.base, running.login
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=console.CHROMIUM, args=["--no-sandbox"]
            )
            # Playwright evaluates its waiting conditions as strings, which the page's CSP forbids.
            context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
            page = context.new_page()
            page.goto(login)
            loads = [one_load(page, base, len(keys)) for _ in range(options.loads)]
            sample = fleet.spread_sample(keys, options.changes)
            api = lightkube.Client(lightkube.KubeConfig.from_file(str(plane.kubeconfig)))
            changes = [
                change_on_screen(page, api, key, number) for number, key in enumerate(sample)
            ]
            api.close()
            browser.close()
        used = fleet.usage(running.process.pid)
    finally:
        running.stop()
    warm = loads[1:] or loads
    return {
        "cold_load": loads[0],
        "first_render_ms": stats.distribution([load["first_render_ms"] for load in warm]),
        "fully_loaded_ms": stats.distribution([load["fully_loaded_ms"] for load in warm]),
        "live_ms": stats.distribution([load["live_ms"] for load in warm]),
        "change_on_screen_ms": stats.distribution(changes),
        "html_bytes": int(warm[-1]["html_bytes"]),
        "console_rss_bytes": used.rss_bytes,
        "console_peak_rss_bytes": used.peak_rss_bytes,
    }


def run(options: object = None) -> dict[str, Any]:
    """Run the benchmark; write and return the results document."""
    chosen = fleet.options_of(Options, options)
    return fleet.run_on_cluster(
        NAME, chosen, lambda plane, _directory: measure(plane, chosen), verdicts, loads=chosen.loads
    )


def verdicts(result: Mapping[str, Any]) -> dict[str, bool]:
    return {
        "first_render_fast": result["first_render_ms"]["p50"] < FIRST_RENDER_LIMIT_MS,
        "fully_loaded_fast": result["fully_loaded_ms"]["p50"] < FULLY_LOADED_LIMIT_MS,
        "changes_arrive_fast": result["change_on_screen_ms"]["p99"] < CHANGE_LIMIT_MS,
        "memory_small": 0 < result["console_peak_rss_bytes"] < RSS_LIMIT_BYTES,
    }


# --- the report -------------------------------------------------------------------------------


def _ms(summary: Mapping[str, float]) -> str:
    return f"{summary['p50']:.0f} ms (p99 {summary['p99']:.0f} ms)"


def summary(result: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    """Return (target, this run's figure, met) for each target, for a summary table."""
    verdict = result["verdicts"]
    return [
        (f"first render p50 < {FIRST_RENDER_LIMIT_MS:.0f} ms", _ms(result["first_render_ms"]),
         verdict["first_render_fast"]),
        (f"fully loaded p50 < {FULLY_LOADED_LIMIT_MS:.0f} ms", _ms(result["fully_loaded_ms"]),
         verdict["fully_loaded_fast"]),
        (f"a change on screen p99 < {CHANGE_LIMIT_MS:.0f} ms", _ms(result["change_on_screen_ms"]),
         verdict["changes_arrive_fast"]),
        (f"console peak RSS < {RSS_LIMIT_BYTES // 2**20} MB",
         f"{result['console_peak_rss_bytes'] / 2**20:.0f} MB", verdict["memory_small"]),
    ]  # fmt: skip


def render_markdown(result: Mapping[str, Any]) -> str:
    """Return the benchmark's section of docs/benchmarks.md."""
    facts = result["machine"]
    cold = result["cold_load"]
    lines = [
        "## Web console: the fleet page",
        "",
        f"{result['sources']} ReplicationSources in {result['namespaces']} namespaces, each with "
        "a day of hourly history; `pyvolsync ui` against the local cluster, the page opened "
        f"{result['loads']} times in Debian's headless Chromium (the first, cold, apart).",
        "",
        f"`{result['command']}` on {facts['cpus']} CPUs ({facts['cpu_model']}), {facts['date']}; "
        f"load average after {result['load_average_after']}.",
        "",
        "| measure | result | target |",
        "|---|---|---|",
    ]
    for target, figure, met in summary(result):
        measure = target.split(" <")[0].removesuffix(" p50").removesuffix(" p99")
        lines.append(f"| {measure} | {figure} | {target}: "
                     f"{'met' if met else '**missed**'} |")  # fmt: skip
    lines += [
        f"| live (event stream open) | {_ms(result['live_ms'])} | |",
        f"| cold first load | first render {cold['first_render_ms']:.0f} ms, loaded "
        f"{cold['fully_loaded_ms']:.0f} ms | |",
        f"| page size | {result['html_bytes'] / 1024:.0f} KiB | |",
        f"| console resident memory after the loads | {result['console_rss_bytes'] / 2**20:.0f} MB "
        "| |",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    result = run(parse_arguments(argv))
    print(render_markdown(result))
    return 0 if all(result["verdicts"].values()) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
