"""The console's in-place runs against the in-memory cluster (fast, no browser): one run per
volume at a time, a failure kept with its words for the page, how each run ended recorded as an
Event naming the person, and a plan digest that changes with anything the plan shows.

The browser test (tests/integration/console/test_console_inplace.py) restores and undoes on the
real cluster with real restic.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from tests.unit.cli.console.test_live import source

from pyvolsync import contract
from pyvolsync.cli import inplace, session, snapshots
from pyvolsync.cli.console import inplacing
from pyvolsync.kube import fake
from pyvolsync.planning.inplace import Journal, Phase, Workload

WEB = Workload(kind="Deployment", name="web", replicas=1)
JOURNAL = Journal(
    source="app", snapshot="a" * 64, paths=("/hello.txt",), phase=Phase.DONE,
    workloads=(WEB,), started_at="2026-12-07T10:00:00Z",
    safety_copy="b" * 64,
)  # fmt: skip


async def test_a_second_run_on_the_same_volume_waits_and_a_failure_is_kept_and_recorded() -> None:
    kube = fake.FakeKube()
    runs = inplacing.Runs(kube, snapshots.JobOptions())
    release = asyncio.Event()

    async def failing(step: inplace.InPlace) -> Journal:
        step.console.print("Deployment web (1 replica) stopped")
        await release.wait()
        raise session.UserError("the paths could not be restored: no space left on device")

    run = runs.start(source(), what="restore", user="alice", work=failing)
    with pytest.raises(session.UserError, match="going on already \\(started by alice\\)"):
        runs.start(source(), what="undo", user="bob", work=failing)
    release.set()
    await asyncio.wait_for(run.ended.wait(), 5)

    assert run.lines == ["Deployment web (1 replica) stopped"]
    assert run.problem == "the paths could not be restored: no space left on device"
    assert runs.latest("team-a", "data") is run
    [event] = kube.events
    assert (event["type"], event["reason"]) == ("Warning", "InPlaceRestoreFailed")
    assert "requested by alice" in event["note"] and "no space left" in event["note"]


async def test_a_finished_run_is_recorded_and_the_volume_is_free_again() -> None:
    kube = fake.FakeKube()
    runs = inplacing.Runs(kube, snapshots.JobOptions())

    async def done(step: inplace.InPlace) -> Journal:
        return JOURNAL

    first = runs.start(source(), what="undo", user="alice", work=done)
    await asyncio.wait_for(first.ended.wait(), 5)
    second = runs.start(source(), what="restore", user="bob", work=done)

    assert first.problem is None and runs.latest("team-a", "data") is second
    assert kube.events[0]["reason"] == "InPlaceUndoFinished"


def test_the_plan_digest_changes_with_anything_the_plan_shows() -> None:
    entry = contract.TreeEntry(path="/hello.txt", type="file", size=6)
    plan = inplace.Prepared(
        snapshot="a" * 64, entries=(entry,), workloads=(WEB,),
        snapshot_class="", stops="stop Deployment web (1 replica)",
    )  # fmt: skip
    other_workloads = dataclasses.replace(
        plan, workloads=(Workload(kind="Deployment", name="web", replicas=2),)
    )
    other_class = dataclasses.replace(plan, snapshot_class="csi-snapclass")

    digests = {inplacing.plan_key(found) for found in (plan, other_workloads, other_class)}

    assert len(digests) == 3
    assert inplacing.plan_key(plan) == inplacing.plan_key(dataclasses.replace(plan))


def test_the_page_says_where_an_unfinished_restore_stopped() -> None:
    rows = dict(inplacing.journal_rows(dataclasses.replace(JOURNAL, phase=Phase.STOPPED)))

    assert rows["state"] == "unfinished at step stopped"
    assert rows["safety copy"] == "the pinned backup bbbbbbbb"
    assert rows["stopped meanwhile"] == "Deployment web (1 replica)"
