"""``python -m bench.stampede``: a thousand sources on one hourly schedule, with a mover limit.

Upstream starts every due mover at once, so a cluster of ``0 * * * *`` sources hits its storage
with all of them at minute 0. pyvolsync spreads each source over a jitter window (a stable offset
per source) and never runs more than ``--max-movers`` movers at once. This benchmark checks both
claims with the issue's numbers: 1,000 sources (20 namespaces) on one hourly schedule
``M * * * *``, the operator started with ``--first-sync schedule --jitter <window> --max-movers
N``. Movers use the no-op image, so a slot is held for as long as the operator and the cluster
need to run a Job, not for restic's work.

Sources are created with a once-a-year schedule, then all moved to minute ``M``, chosen so that
the first due time comes at least 90 s after that; each source's ``status.nextSyncTime`` must
equal M:00 plus its own offset. From then on this process watches Jobs and Pods: the most mover
Jobs that existed at once must never exceed N, and the Jobs' start times, counted from M:00,
must spread across the window (a histogram of 10 buckets; each bucket within half to one and a
half times an even share). A mover "starts" when its Job is created: that is what a slot admits.

Default window: 10 minutes. On this project's 2-CPU machine, shared with other jobs, a no-op
sync holds its slot for a few seconds (Job, pod, completion, clean-up), so ten slots pass 2 to 3
syncs a second and the fleet needs 6 to 8 minutes of them; a window shorter than that would
leave sources queued past its end (the histogram shows them as "later") and measure the
machine rather than the spreading, a longer one only makes the run longer. With the set-up
(about a minute for 1,000 sources) and the lead time the whole run takes about 14 minutes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench import fleet, stats
from pyvolsync.controller import schedule

NAME = "stampede"
BUCKETS = 10
LEAD_SECONDS = 90.0
"""At least this long between moving every source to minute M and M:00."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Options:
    """The size of the run; the defaults are the issue's, the window is ours (see above)."""

    sources: int = 1000
    namespaces: int = 20
    max_movers: int = 10
    jitter_seconds: int = 600
    keep: Path | None = None


def parse_arguments(argv: list[str] | None = None) -> Options:
    parser = fleet.fleet_parser("bench.stampede", __doc__, Options)
    parser.add_argument("--max-movers", type=int, default=Options.max_movers)
    parser.add_argument(
        "--jitter-seconds",
        type=int,
        default=Options.jitter_seconds,
        help="the jitter window (default 600 s, see the module's docstring)",
    )
    return fleet.options_of(Options, parser.parse_args(argv))


def nominal_due(now: float, *, lead_seconds: float = LEAD_SECONDS) -> datetime.datetime:
    """Return the first whole minute at least ``lead_seconds`` after ``now`` (UTC)."""
    moment = datetime.datetime.fromtimestamp(now + lead_seconds, datetime.UTC)
    if moment.second or moment.microsecond:
        moment = moment.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
    return moment


def spread_verdict(counts: Sequence[int], *, total: int) -> bool:
    """True when every bucket of the window got between half and 1.5 times an even share."""
    inside = counts[:-1]
    share = total / len(inside)
    return all(0.5 * share <= count <= 1.5 * share for count in inside)


# --- the run ----------------------------------------------------------------------------------


async def move_to_minute(
    environment: fleet.Environment, due: datetime.datetime, window: datetime.timedelta
) -> dict[fleet.Key, float]:
    """Put every source on ``M * * * *``; wait until each shows its own jittered nextSyncTime."""
    trigger = {"schedule": f"{due.minute} * * * *"}

    async def reschedule(key: fleet.Key) -> None:
        await fleet.patch_trigger(environment.client, key, trigger)

    await fleet.in_parallel(environment.keys, reschedule)
    expected = {
        key: (due + schedule.jitter_offset(f"{key[0]}/{key[1]}", window)).timestamp()
        for key in environment.keys
    }

    def shown(seen: fleet.Observed) -> bool:
        return all(
            (next_time := (seen.statuses.get(key) or {}).get("nextSyncTime"))
            and fleet.parse_time(next_time) == expected[key]
            for key in environment.keys
        )

    # Sources whose status shows it only after M:00 still start on time: their due time counts
    # from their creation, not from when the operator got to them.
    left = due.timestamp() - time.time()
    await environment.watches.until(
        shown, what="every source's jittered nextSyncTime", timeout=max(left, 0) + 120
    )
    fleet.say(
        f"every source due at {due:%H:%M} + its offset; {due.timestamp() - time.time():.0f} s to go"
    )
    return expected


async def stampede(environment: fleet.Environment, options: Options) -> dict[str, Any]:
    window = datetime.timedelta(seconds=options.jitter_seconds)
    due = nominal_due(time.time())
    expected = await move_to_minute(environment, due, window)
    seen = environment.watches.seen
    seen.reset_most()
    before = environment.usage()
    start = due.timestamp()

    def synced(observed: fleet.Observed) -> bool:
        return all(
            (last := (observed.statuses.get(key) or {}).get("lastSyncTime"))
            and fleet.parse_time(last) >= start
            for key in environment.keys
        )

    finished = await environment.watches.until(
        synced,
        what="every source to sync once",
        timeout=start - time.time() + options.jitter_seconds + 600 + len(environment.keys),
    )
    after = environment.usage()
    starts = {
        key: job
        for key in environment.keys
        if (job := fleet.first_after(seen.job_added[key], start - 1)) is not None
    }
    offsets = [moment - start for moment in starts.values()]
    delays = [moment - expected[key] for key, moment in starts.items()]
    due_offsets = [expected[key] - start for key in environment.keys]
    high = float(options.jitter_seconds)
    started = stats.histogram(offsets, low=0, high=high, buckets=BUCKETS)
    fleet.say(
        f"all synced {finished - start:.0f} s after {due:%H:%M}; most movers {seen.most_jobs}"
    )
    return {
        "nominal_due": due.isoformat(),
        "last_sync_after_seconds": round(finished - start, 1),
        "most_movers_at_once": seen.most_jobs,
        "most_running_mover_pods_at_once": seen.most_running_pods,
        "starts_seen": len(starts),
        "bucket_seconds": high / BUCKETS,
        "start_histogram": started,
        "due_histogram": stats.histogram(due_offsets, low=0, high=high, buckets=BUCKETS),
        "start_offset_seconds": stats.distribution(offsets),
        "wait_for_slot_seconds": stats.distribution(delays),
        "operator": fleet.cost(before, after),
        "operator_peak_rss_bytes": after.peak_rss_bytes,
        "load_average": fleet.load_average(),
    }


async def measure(plane: Any, directory: Path, options: Options) -> dict[str, Any]:
    keys = fleet.fleet_keys(options.sources, options.namespaces)
    arguments = (
        "--first-sync", "schedule",
        "--jitter", f"{options.jitter_seconds}s",
        "--max-movers", str(options.max_movers),
    )  # fmt: skip
    environment = await fleet.open_environment(plane, directory, keys, operator_arguments=arguments)
    try:
        created = time.time()
        await fleet.create_fleet(environment.client, keys, schedule=fleet.PLACEHOLDER_SCHEDULE)
        await fleet.wait_reconciled(
            environment, reason="WaitingForSchedule", timeout=600 + len(keys)
        )
        fleet.say(f"{len(keys)} sources created and reconciled in {time.time() - created:.0f} s")
        return await stampede(environment, options)
    except BaseException:
        print(environment.operator.log_tail(), file=sys.stderr)
        raise
    finally:
        await fleet.close_environment(environment)


def run(options: object = None) -> dict[str, Any]:
    """Run the benchmark; write and return the results document."""
    chosen = fleet.options_of(Options, options)

    def judged(result: Mapping[str, Any]) -> dict[str, bool]:
        return {
            "mover_limit_held": 0 < result["most_movers_at_once"] <= chosen.max_movers,
            "starts_spread_across_the_window": spread_verdict(
                result["start_histogram"], total=chosen.sources
            ),
            "every_source_started": result["starts_seen"] == chosen.sources,
        }

    return fleet.run_on_cluster(
        NAME,
        chosen,
        lambda plane, directory: asyncio.run(measure(plane, directory, chosen)),
        judged,
        max_movers=chosen.max_movers,
        jitter_seconds=chosen.jitter_seconds,
        mover_image=fleet.NOOP_IMAGE,
    )


# --- the report -------------------------------------------------------------------------------


def summary(result: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    """Return (target, this run's figure, met) for each target, for a summary table."""
    verdict = result["verdicts"]
    inside = result["start_histogram"][:-1]
    return [
        (
            f"most movers at once <= {result['max_movers']}",
            str(result["most_movers_at_once"]),
            verdict["mover_limit_held"],
        ),
        (
            f"starts spread over the {result['jitter_seconds']} s window",
            f"{min(inside)}-{max(inside)} per bucket, {result['start_histogram'][-1]} later",
            verdict["starts_spread_across_the_window"],
        ),
        (
            "every source syncs",
            f"{result['starts_seen']} of {result['sources']}",
            verdict["every_source_started"],
        ),
    ]


def _mark(met: bool) -> str:
    return "met" if met else "**missed**"


def _histogram(result: Mapping[str, Any]) -> list[str]:
    width = result["bucket_seconds"]
    started, due = result["start_histogram"], result["due_histogram"]
    most = max(started) or 1
    lines = ["| seconds after M:00 | due | movers started | |", "|---|---:|---:|---|"]
    for index in range(BUCKETS):
        bar = "#" * round(30 * started[index] / most)
        low, high = index * width, (index + 1) * width
        lines.append(f"| {low:.0f}-{high:.0f} | {due[index]} | {started[index]} | `{bar}` |")
    lines.append(f"| later | {due[-1]} | {started[-1]} | |")
    return lines


def render_markdown(result: Mapping[str, Any]) -> str:
    """Return the benchmark's section of docs/benchmarks.md."""
    facts = result["machine"]
    verdict = result["verdicts"]
    waits = result["wait_for_slot_seconds"]
    lines = [
        "## Stampede control",
        "",
        f"{result['sources']} ReplicationSources in {result['namespaces']} namespaces on one "
        f"hourly schedule (`M * * * *`), operator started with `--first-sync schedule --jitter "
        f"{result['jitter_seconds']}s --max-movers {result['max_movers']}`; movers run the "
        f"no-op image `{result['mover_image']}`. A mover starts when its Job is created.",
        "",
        f"`{result['command']}` on {facts['cpus']} CPUs ({facts['cpu_model']}), {facts['date']}; "
        f"load average (1, 5, 15 min) before {facts['load_average']}, after "
        f"{result['load_average_after']}: the machine is shared.",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| most movers at once | {result['most_movers_at_once']} (running pods: "
        f"{result['most_running_mover_pods_at_once']}) | <= {result['max_movers']}: "
        f"{_mark(verdict['mover_limit_held'])} |",
        f"| starts across the {result['jitter_seconds']} s window | see the histogram | each "
        f"bucket 0.5-1.5x an even share: {_mark(verdict['starts_spread_across_the_window'])} |",
        f"| sources that synced | {result['starts_seen']} of {result['sources']}, the last "
        f"{result['last_sync_after_seconds']:.0f} s after M:00 | all: "
        f"{_mark(verdict['every_source_started'])} |",
        f"| wait for a slot after its own due time | p50 {waits.get('p50')} s, p99 "
        f"{waits.get('p99')} s, max {waits.get('max')} s | |",
        f"| operator CPU during the window | {result['operator']['cpu_seconds']} s in "
        f"{result['operator']['wall_seconds']:.0f} s | |",
        "",
        *_histogram(result),
        "",
        '"due" counts the sources whose jittered due time falls in the bucket (the stable '
        'per-source offset), "movers started" the Jobs created in it.',
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    result = run(parse_arguments(argv))
    print(render_markdown(result))
    return 0 if all(result["verdicts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
