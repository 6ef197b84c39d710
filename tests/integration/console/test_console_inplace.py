"""Files put back into the app's own volume from the console, in a real browser, on the local
cluster with the real operator and restic: the plan is shown before anything changes, the app is
stopped and started again, one file comes back while the rest keeps what the app wrote since,
the page follows the restore to its end, and Undo puts the prior bytes back."""

from __future__ import annotations

import json

from localcluster import controlplane
from localcluster.testing import get
from playwright import sync_api
from tests.integration.cli.test_cli_commands import backed_up_source
from tests.integration.cli.test_cli_inplace import (
    DAMAGE,
    journal_of,
    read_data,
    running_app,
    wait_ready,
)
from tests.integration.console.conftest import Ui, post_from_page, screenshot
from tests.integration.reconcile import helpers

from pyvolsync.planning import inplace

RUN_TIMEOUT_MS = 240_000


def _wait_for_the_run(ui: Ui, what: str) -> None:
    """Wait until the page says the restore or undo finished; fail with what it said."""
    page = ui.page
    said = page.locator("#in-place-run")
    try:
        sync_api.expect(page.locator("h1")).to_have_text("In-place restore into PVC data")
        sync_api.expect(said).to_contain_text(f"The {what} started by", timeout=RUN_TIMEOUT_MS)
        sync_api.expect(said).to_contain_text("finished")
    except AssertionError:
        console_output = ui.started[0].stop()
        shown = page.locator("main").inner_text()
        raise AssertionError(
            f"the page said:\n{shown}\nthe console said:\n{console_output}"
        ) from None


def _damaged_app_and_console(
    cluster: controlplane.ControlPlane, namespace: str, ui: Ui
) -> tuple[str, str]:
    """Back up volume `data`, run the app on it, write over hello.txt and add after.txt, start
    a console; return the backup's snapshot ID and the console's address."""
    snapshot = backed_up_source(cluster, namespace)["lastSyncResult"]["snapshotID"]
    running_app(cluster, namespace)
    helpers.run_shell(cluster, namespace, "damage", claim_name="data", script=DAMAGE)
    return str(snapshot), ui.start(cluster.kubeconfig, "-n", namespace).base


def test_a_file_goes_back_in_place_after_the_plan_and_undo_puts_it_back(
    cluster: controlplane.ControlPlane, namespace: str, ui: Ui
) -> None:
    snapshot, base = _damaged_app_and_console(cluster, namespace, ui)
    page = ui.page
    page.goto(f"{base}/source/{namespace}/app/snapshots/{snapshot}?path=/")

    page.get_by_role("button", name="Restore the chosen in place…").click()
    sync_api.expect(page.locator("#in-place-problem")).to_contain_text("choose at least one")
    page.go_back()
    page.get_by_label("Choose hello.txt").check()
    page.get_by_role("button", name="Restore the chosen in place…").click()
    plan = page.locator("#plan")
    sync_api.expect(plan).to_contain_text("Stop Deployment web (1 replica)")
    sync_api.expect(plan).to_contain_text("Take a safety copy of the whole volume")
    sync_api.expect(page.locator("#plan-paths")).to_have_text("/hello.txt (file, 6 B)")
    assert journal_of(cluster, namespace) is None, "nothing changes before the plan is confirmed"
    screenshot(page, "console-in-place-plan")

    page.get_by_role("button", name="Restore 1 path in place").click()
    _wait_for_the_run(ui, "restore")

    rows = page.locator("#in-place-rows")
    sync_api.expect(rows).to_contain_text("done")
    sync_api.expect(rows).to_contain_text("Deployment web (1 replica)")
    assert read_data(cluster, namespace, "read-restored")[:3] == ["hello", "1", "written-after"]
    journal = journal_of(cluster, namespace)
    assert journal is not None and journal.phase is inplace.Phase.DONE
    assert journal.paths == ("/hello.txt",)
    wait_ready(cluster, namespace)
    sync_api.expect(page.locator("#undo-plan")).to_contain_text("Undo puts /hello.txt back")
    screenshot(page, "console-in-place-done")

    page.get_by_role("button", name="Undo the restore").click()
    _wait_for_the_run(ui, "undo")

    sync_api.expect(rows).to_contain_text("undone")
    assert read_data(cluster, namespace, "read-undone")[:3] == ["corrupted", "1", "written-after"]
    deployment = get(cluster, "deployment", "web", namespace=namespace) or {}
    assert deployment["spec"]["replicas"] == 1
    again = post_from_page(page, f"/source/{namespace}/app/in-place/undo")
    assert again["status"] == 409 and "undone already" in again["body"]["error"], again
    reasons = [event["reason"] for event in helpers.events(cluster, namespace, "app")]
    for reason in ("InPlaceRestoreRequested", "InPlaceRestoreFinished", "InPlaceUndoFinished"):
        assert reason in reasons, reasons


def test_a_missing_path_is_refused_and_a_restore_left_unfinished_is_finished_from_its_page(
    cluster: controlplane.ControlPlane, namespace: str, ui: Ui
) -> None:
    snapshot, base = _damaged_app_and_console(cluster, namespace, ui)
    page = ui.page

    page.goto(f"{base}/source/{namespace}/app/snapshots/{snapshot}/in-place?path=/nope")
    sync_api.expect(page.locator("#in-place-problem")).to_contain_text("nope")
    assert page.locator("#plan").count() == 0
    assert journal_of(cluster, namespace) is None

    # As a console stopped midway leaves it: the app stopped, the journal at "stopped".
    cluster.kubectl("scale", "deployment", "web", "--replicas=0", "-n", namespace)
    left = inplace.Journal(
        source="app", snapshot=snapshot, paths=("/hello.txt",), phase=inplace.Phase.STOPPED,
        workloads=(inplace.Workload(kind="Deployment", name="web", replicas=1),),
        started_at="2026-12-07T10:00:00Z",
    )  # fmt: skip
    patch = json.dumps(inplace.journal_patch(left))
    cluster.kubectl("patch", "pvc", "data", "-n", namespace, "--type=merge", "-p", patch)
    page.goto(f"{base}/source/{namespace}/app/in-place")
    sync_api.expect(page.locator("#in-place-rows")).to_contain_text("unfinished at step stopped")
    page.goto(f"{base}/source/{namespace}/app/snapshots/{snapshot}/in-place?path=/x")
    sync_api.expect(page.locator("#in-place-problem")).to_contain_text("unfinished")

    page.goto(f"{base}/source/{namespace}/app/in-place")
    page.get_by_role("button", name="Finish the restore").click()
    _wait_for_the_run(ui, "restore")

    sync_api.expect(page.locator("#in-place-rows")).to_contain_text("done")
    assert read_data(cluster, namespace, "read-finished")[:3] == ["hello", "1", "written-after"]
    wait_ready(cluster, namespace)
