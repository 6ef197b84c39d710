"""The operator benchmarks' own rules: the fleet's shape, the windows, the audit-log counting,
the verdicts and the report sections (bench/fleet.py, bench/operator_scale.py, bench/stampede.py).

The benchmarks themselves need a local cluster and minutes; what they conclude from their
observations is pure and checked here, so a wrong count cannot turn into a verdict.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Any

from bench import fleet, operator_scale, stampede

UTC = datetime.UTC


def test_the_fleet_is_dealt_over_every_namespace_and_samples_cover_them_all() -> None:
    keys = fleet.fleet_keys(1000, 20)
    assert len(set(keys)) == 1000
    assert len({namespace for namespace, _ in keys}) == 20
    sample = fleet.spread_sample(keys, 100)
    assert len(set(sample)) == 100
    assert len({namespace for namespace, _ in sample}) == 20
    later = fleet.spread_sample(keys, 100, skip=100)
    assert not set(later) & set(sample)
    assert len({namespace for namespace, _ in later}) == 20
    assert fleet.spread_sample(keys[:3], 10) == keys[:3]


def test_each_source_gets_its_claim_and_secret() -> None:
    claim, secret, source = fleet.manifests(("fleet-01", "app-0001"), schedule="0 0 1 1 *")
    assert source["spec"]["sourcePVC"] == claim["metadata"]["name"]
    assert source["spec"]["restic"]["repository"] == secret["metadata"]["name"]
    assert source["spec"]["trigger"] == {"schedule": "0 0 1 1 *"}
    assert {item["metadata"]["namespace"] for item in (claim, secret, source)} == {"fleet-01"}


def test_the_first_due_minute_leaves_the_lead_time() -> None:
    now = datetime.datetime(2026, 1, 1, 10, 58, 30, tzinfo=UTC).timestamp()
    assert stampede.nominal_due(now, lead_seconds=60) == datetime.datetime(
        2026, 1, 1, 11, 0, tzinfo=UTC
    )
    exact = datetime.datetime(2026, 1, 1, 10, 59, 0, tzinfo=UTC).timestamp()
    assert stampede.nominal_due(exact, lead_seconds=60).minute == 0
    assert operator_scale.schedule_minutes(now, 3, lead_seconds=45) == [0, 1, 2]


def test_starts_are_spread_when_every_bucket_holds_half_to_one_and_a_half_shares() -> None:
    assert stampede.spread_verdict([10] * 10 + [0], total=100)
    assert stampede.spread_verdict([5, 15, 10, 10, 10, 10, 10, 10, 10, 10, 0], total=100)
    assert not stampede.spread_verdict([4, 16, 10, 10, 10, 10, 10, 10, 10, 10, 0], total=100)
    assert not stampede.spread_verdict([100] + [0] * 10, total=100)


def audit_line(agent: str, verb: str, resource: str, name: str, at: str, **extra: Any) -> str:
    event = {
        "stage": "ResponseComplete",
        "userAgent": agent,
        "verb": verb,
        "objectRef": {"resource": resource, "namespace": "fleet-00", "name": name, **extra},
        "requestReceivedTimestamp": at,
    }
    return json.dumps(event)


def test_only_the_operators_completed_requests_in_the_window_count(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    inside, outside = "2026-01-01T10:00:30.000000Z", "2026-01-01T10:05:00.000000Z"
    lines = [
        audit_line("pyvolsync-operator/0.1.0", "get", "replicationsources", "app-0000", inside),
        audit_line("pyvolsync-operator/0.1.0", "get", "replicationsources", "app-0000", inside),
        audit_line(
            "pyvolsync-operator/0.1.0",
            "patch",
            "replicationsources",
            "app-0001",
            inside,
            subresource="status",
        ),
        audit_line("pyvolsync-operator/0.1.0", "watch", "jobs", "", inside),
        audit_line("kubectl/v1.36", "get", "pods", "other", inside),
        audit_line("pyvolsync-operator/0.1.0", "get", "jobs", "late", outside),
        json.dumps(
            {"stage": "ResponseStarted", "userAgent": "pyvolsync-operator/0.1.0", "verb": "watch"}
        ),
    ]
    log.write_text("\n".join(lines) + "\n")
    start = datetime.datetime(2026, 1, 1, 10, 0, tzinfo=UTC).timestamp()
    summary = fleet.request_summary([log], since=start, until=start + 60, sources=10)
    assert summary["requests"] == 3
    assert summary["watch_requests"] == 1
    assert summary["by_verb_and_resource"] == {
        "get replicationsources": 2,
        "patch replicationsources/status": 1,
    }
    assert summary["requests_per_source_per_hour"] == 18.0
    assert summary["most_requests_on_one_object"] == 2
    assert summary["busiest_object"] == "replicationsources fleet-00/app-0000"


def test_a_process_usage_is_read_from_proc() -> None:
    before = fleet.usage(os.getpid())
    sum(range(200_000))
    after = fleet.usage(os.getpid())
    assert after.peak_rss_bytes >= after.rss_bytes > 0
    assert after.cpu_seconds >= before.cpu_seconds
    assert fleet.cost(before, after)["wall_seconds"] >= 0


def machine() -> dict[str, Any]:
    return {"cpus": 2, "cpu_model": "test CPU", "date": "2026-01-01", "load_average": [1, 1, 1]}


def scale_result() -> dict[str, Any]:
    latency = {"count": 100, "p50": 0.1, "p90": 0.2, "p99": 0.4, "max": 0.5, "mean": 0.12}
    cost = {"wall_seconds": 60.0, "cpu_seconds": 1.0, "cpu_seconds_per_hour": 60.0}
    requests = {
        "window_seconds": 360.0,
        "requests": 0,
        "watch_requests": 3,
        "requests_per_source_per_hour": 0.0,
        "most_requests_on_one_object": 0,
    }
    result: dict[str, Any] = {
        "command": "python -m bench.operator_scale",
        "machine": machine(),
        "load_average_after": [1, 1, 1],
        "sources": 1000,
        "namespaces": 20,
        "mover_image": fleet.NOOP_IMAGE,
        "take_in": {"create_seconds": 40.0, "all_reconciled_after_creation_seconds": 10.0},
        "fleet_sync": {
            "seconds": 300.0,
            "syncs_per_second": 3.3,
            "failed_syncs": 0,
            "trigger_to_job_seconds": latency,
            "operator": cost,
            "requests": {**requests, "requests": 30000},
        },
        "idle": {
            "operator": cost,
            "requests": requests,
            "status_changes_seen": 0,
            "request_loops": False,
        },
        "manual": {"trigger_to_job_seconds": latency},
        "schedule": {"due_to_job_seconds": {**latency, "p99": 2.5}, "sources_due_per_minute": 20},
        "operator_peak_rss_bytes": 100_000_000,
    }
    result["verdicts"] = operator_scale.verdicts(result)
    return result


def test_the_scale_verdicts_and_section_name_what_was_missed() -> None:
    result = scale_result()
    assert result["verdicts"] == {
        "manual_trigger_p99_under_2s": True,
        "due_schedule_p99_under_2s": False,
        "peak_rss_under_150mb": True,
        "no_request_loops_while_idle": True,
        "every_sync_succeeded": True,
    }
    section = operator_scale.render_markdown(result)
    assert section.startswith("## Operator at scale")
    assert "p99 0.40 s | p99 < 2 s: met" in section
    assert "p99 2.50 s | p99 < 2 s: **missed**" in section
    assert "30.0 operator API requests per sync" in section
    rows = operator_scale.summary(result)
    assert [met for _, _, met in rows] == [True, False, True, True, True]


def test_the_stampede_section_shows_the_histogram() -> None:
    started = [100, 98, 101, 99, 100, 102, 100, 100, 100, 100, 0]
    result: dict[str, Any] = {
        "command": "python -m bench.stampede",
        "machine": machine(),
        "load_average_after": [1, 1, 1],
        "sources": 1000,
        "namespaces": 20,
        "max_movers": 10,
        "jitter_seconds": 480,
        "mover_image": fleet.NOOP_IMAGE,
        "most_movers_at_once": 10,
        "most_running_mover_pods_at_once": 7,
        "starts_seen": 1000,
        "last_sync_after_seconds": 490.0,
        "bucket_seconds": 48.0,
        "start_histogram": started,
        "due_histogram": started,
        "wait_for_slot_seconds": {"p50": 0.5, "p99": 3.0, "max": 4.0},
        "operator": {"cpu_seconds": 30.0, "wall_seconds": 500.0},
        "verdicts": {
            "mover_limit_held": True,
            "starts_spread_across_the_window": stampede.spread_verdict(started, total=1000),
            "every_source_started": True,
        },
    }
    section = stampede.render_markdown(result)
    assert section.startswith("## Stampede control")
    assert "| 0-48 | 100 | 100 |" in section
    assert "| later | 0 | 0 | |" in section
    assert all(met for _, _, met in stampede.summary(result))
