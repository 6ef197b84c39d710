"""The web console in a real browser, on the local cluster with the real operator.

What a user checks: the fleet page lists the sources with the right health, trouble first; "Sync
now" starts a sync and the page shows it finish without a reload; a user whose RBAC does not
allow an action cannot do it (the server refuses, not only the button); a deleted object, a
wrong login link, an unknown page and a repository that is not there each get a clear message.
"""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path
from typing import Any

from localcluster import controlplane
from localcluster.testing import apply, get, wait_until
from playwright import sync_api
from tests.integration.cli.test_cli_commands import SOURCE, backed_up_source
from tests.integration.console.conftest import Ui, post_from_page, screenshot
from tests.integration.reconcile import helpers
from tests.support import kubeconfigs

LIVE_TIMEOUT_MS = 120_000
VIEWER_RULES = [
    {"apiGroups": ["volsync.backube"], "resources": ["replicationsources",
     "replicationdestinations"], "verbs": ["get", "list", "watch"]},
]  # fmt: skip
"""May read backups but not change them, nor read their events (the page says so and works)."""


def broken_source(plane: controlplane.ControlPlane, namespace: str) -> dict[str, Any]:
    """Create source `broken`, whose repository Secret does not exist; return its status once
    the operator said why it cannot sync."""
    apply(
        plane,
        helpers.replication_source("broken", repository="no-such-secret", copy_method="Direct"),
        namespace=namespace,
    )
    return wait_until(
        lambda: helpers.status(plane, SOURCE, "broken", namespace) or None,
        what="source broken to get a status",
    )


def expect_fleet(page: sync_api.Page) -> None:
    sync_api.expect(page.locator("h1")).to_have_text("Backups and restores")


def row(page: sync_api.Page, namespace: str, name: str) -> sync_api.Locator:
    return page.locator(f"#source--{namespace}--{name}")


def test_the_fleet_shows_health_trouble_first_and_sync_now_finishes_live(
    cluster: controlplane.ControlPlane,
    namespace: str,
    ui: Ui,
) -> None:
    first = backed_up_source(cluster, namespace)
    broken_source(cluster, namespace)
    ui.start(cluster.kubeconfig, "-n", namespace)
    page = ui.page
    expect_fleet(page)
    sync_api.expect(row(page, namespace, "app").locator(".health")).to_have_text("healthy")
    failing = row(page, namespace, "broken")
    sync_api.expect(failing.locator(".health")).to_have_text("failing")
    sync_api.expect(failing.locator(".problem")).to_contain_text("no-such-secret")
    keys = page.locator("#fleet-rows tr").evaluate_all("rows => rows.map(row => row.id)")
    assert keys == [f"source--{namespace}--broken", f"source--{namespace}--app"]
    screenshot(page, "console-fleet")

    page.locator("#filter").fill("brok")
    sync_api.expect(row(page, namespace, "app")).to_be_hidden()
    sync_api.expect(page.locator("#shown")).to_have_text("1 of 2 shown")
    page.locator("#filter").fill("")
    # The fleet stays open in a second tab while the sync runs: its row must follow, unreloaded.
    fleet_tab = page.context.new_page()
    fleet_tab.goto(page.url)
    sync_api.expect(fleet_tab.locator("body[data-live='ready']")).to_have_count(1)
    fleet_tab.evaluate("window.notReloaded = true")

    page.get_by_role("link", name=f"{namespace}/app").click()
    sync_api.expect(page.locator("h1")).to_contain_text(f"{namespace}/app")
    page.evaluate("window.notReloaded = true")
    page.get_by_role("button", name="Sync now").click()
    sync_api.expect(page.locator("#said")).to_contain_text("sync requested")

    answered = wait_until(
        lambda: _answered_again(cluster, namespace, first),
        what="the console's sync to finish",
        timeout=LIVE_TIMEOUT_MS / 1000,
    )
    new_snapshot = answered["lastSyncResult"]["snapshotID"]
    sync_api.expect(page.locator("#panel")).to_contain_text(new_snapshot, timeout=LIVE_TIMEOUT_MS)
    sync_api.expect(page.locator("#object-health")).to_have_text("healthy")
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "console-source")
    last_sync = row(fleet_tab, namespace, "app").locator("td[data-label='Last sync'] time")
    sync_api.expect(last_sync).to_have_attribute("datetime", answered["lastSyncTime"])
    assert fleet_tab.evaluate("window.notReloaded") is True

    reasons = [event["reason"] for event in helpers.events(cluster, namespace, "app")]
    notes = [event.get("note", "") for event in helpers.events(cluster, namespace, "app")]
    assert "SyncRequested" in reasons
    assert any("from the pyvolsync console" in note and " by " in note for note in notes)
    sync_api.expect(page.locator("#events")).to_contain_text("SyncRequested")


def test_a_file_browsed_in_a_snapshot_previews_and_downloads_byte_exact(
    cluster: controlplane.ControlPlane,
    namespace: str,
    ui: Ui,
    tmp_path: Path,
) -> None:
    first = backed_up_source(cluster, namespace)
    console = ui.start(cluster.kubeconfig, "-n", namespace)
    page = ui.page
    expect_fleet(page)
    page.get_by_role("link", name=f"{namespace}/app").click()
    page.get_by_role("link", name="Snapshots and files").click()
    snapshot = first["lastSyncResult"]["snapshotID"]
    listed = page.locator(f"#snapshots tr[data-snapshot='{snapshot}']")
    sync_api.expect(listed).to_have_count(1)
    listed.get_by_role("link", name="Browse").click()
    sync_api.expect(page.locator("#entries")).to_contain_text("hello.txt")
    sync_api.expect(page.locator("#entries tr[data-path='/link']")).to_contain_text("hello.txt")
    page.locator("#entries").get_by_role("link", name="dir/").click()
    sync_api.expect(page.locator("#entries tr[data-path='/dir/blob']")).to_contain_text("293.0 KiB")
    screenshot(page, "console-browse")

    with page.expect_download() as blob_download:
        page.get_by_role("link", name="Download blob").click()
    saved = tmp_path / "blob"
    blob_download.value.save_as(saved)
    original = helpers.run_shell(
        cluster, namespace, "blob-sum", claim_name="data", script="sha256sum /data/dir/blob"
    )
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == original.split()[0]
    assert blob_download.value.suggested_filename == "blob"

    with page.expect_download() as folder_download:
        page.get_by_role("link", name="Download this folder (.tar)").click()
    archive = tmp_path / "dir.tar"
    folder_download.value.save_as(archive)
    with tarfile.open(archive) as unpacked:
        names = unpacked.getnames()
        marker = unpacked.extractfile(next(n for n in names if n.endswith("deeper/marker")))
        assert marker is not None and marker.read() == b"1\n"
    assert any(name.endswith("dir/blob") for name in names), names

    page.locator(".crumbs").get_by_role("link", name="/", exact=True).click()
    page.locator("#entries").get_by_role("link", name="hello.txt", exact=True).click()
    sync_api.expect(page.locator("#preview")).to_have_text("hello\n")

    page.goto(f"{console.base}/source/{namespace}/app/snapshots/{snapshot}?path=/no-such-folder")
    sync_api.expect(page.locator(".problem-message")).to_contain_text("no-such-folder")


def test_a_snapshot_restores_into_a_new_volume_after_the_plan_is_shown(
    cluster: controlplane.ControlPlane, namespace: str, ui: Ui
) -> None:
    first = backed_up_source(cluster, namespace)
    snapshot = first["lastSyncResult"]["snapshotID"]
    console = ui.start(cluster.kubeconfig, "-n", namespace)
    page = ui.page
    page.goto(f"{console.base}/source/{namespace}/app/snapshots")
    page.locator(f"#snapshots tr[data-snapshot='{snapshot}']").get_by_role(
        "link", name="Restore"
    ).click()
    sync_api.expect(page.get_by_label("New PVC")).to_have_value("data-restored")

    page.get_by_label("New PVC").fill("data")
    page.get_by_role("button", name="Show what will happen").click()
    sync_api.expect(page.locator("#restore-problem")).to_contain_text("the app's own volume")

    page.get_by_label("New PVC").fill("data-restored")
    page.get_by_role("button", name="Show what will happen").click()
    plan = page.locator("#plan")
    sync_api.expect(plan).to_contain_text("Create PVC data-restored")
    sync_api.expect(plan).to_contain_text(f"restores snapshot {snapshot[:8]}")
    assert get(cluster, "pvc", "data-restored", namespace=namespace) is None, "nothing yet"
    screenshot(page, "console-restore")

    page.get_by_role("button", name="Restore into data-restored").click()
    sync_api.expect(page.locator("h1")).to_contain_text(f"{namespace}/data-restored-restore")
    try:
        sync_api.expect(page.locator("#object-health")).to_have_text(
            "healthy", timeout=LIVE_TIMEOUT_MS
        )
    except AssertionError:
        restoring = get(cluster, "replicationdestination", "data-restored-restore",
                        namespace=namespace)  # fmt: skip
        said = ui.started[0].stop()
        raise AssertionError(f"{restoring}\n{said}\n{page.content()[-3000:]}") from None
    original = helpers.tree_checksum(cluster, namespace, "sum-original", "data")
    assert helpers.tree_checksum(cluster, namespace, "sum-restored", "data-restored") == original
    reasons = [event["reason"] for event in helpers.events(cluster, namespace, "app")]
    assert "RestoreRequested" in reasons


def _answered_again(
    plane: controlplane.ControlPlane, namespace: str, first: dict[str, Any]
) -> dict[str, Any] | None:
    status = helpers.status(plane, SOURCE, "app", namespace)
    done = status.get("lastManualSync") not in (None, first["lastManualSync"])
    return status if done and not status.get("lastSyncStartTime") else None


def test_a_user_without_permission_sees_read_only_and_the_server_refuses(
    cluster: controlplane.ControlPlane,
    namespace: str,
    ui: Ui,
    tmp_path: Path,
) -> None:
    backed_up_source(cluster, namespace)
    kubeconfig = kubeconfigs.for_role(
        cluster, "viewer", namespace, VIEWER_RULES, tmp_path / "viewer", context_namespace=namespace
    )
    ui.start(kubeconfig)
    page = ui.page
    expect_fleet(page)
    sync_api.expect(page.locator(".note").first).to_contain_text(
        f"shows namespace {namespace} only"
    )
    sync_api.expect(page.locator(".who")).to_contain_text(
        f"system:serviceaccount:{namespace}:viewer"
    )
    page.get_by_role("link", name=f"{namespace}/app").click()
    sync_api.expect(page.get_by_role("button", name="Pause")).to_be_disabled()
    sync_api.expect(page.locator(".actions .note")).to_contain_text("Read-only")
    sync_api.expect(page.locator("#events-note")).to_contain_text("cannot list events")

    refused = post_from_page(page, f"/source/{namespace}/app/pause")
    assert refused["status"] == 403, refused
    assert "your RBAC does not let you patch ReplicationSource" in refused["body"]["error"]
    assert not (get(cluster, SOURCE, "app", namespace=namespace) or {})["spec"].get("paused")


def test_bad_requests_get_a_clear_message_and_the_console_keeps_working(
    cluster: controlplane.ControlPlane,
    namespace: str,
    ui: Ui,
) -> None:
    broken_source(cluster, namespace)
    apply(
        cluster,
        helpers.repository_secret("nowhere", path=f"{namespace}/never-made"),
        helpers.replication_source("unmade", repository="nowhere", paused=True),
        namespace=namespace,
    )
    console = ui.start(cluster.kubeconfig, "-n", namespace)
    page = ui.page
    page.context.clear_cookies()
    page.goto(f"{console.base}/login?token=wrong")
    sync_api.expect(page.locator(".problem-message")).to_contain_text("login link is not valid")
    page.goto(f"{console.base}/")
    sync_api.expect(page.locator(".problem-message")).to_contain_text("open the address")

    page.goto(console.login)
    expect_fleet(page)
    page.goto(f"{console.base}/source/{namespace}/nothing-here")
    sync_api.expect(page.locator(".problem-message")).to_contain_text(
        f"ReplicationSource {namespace}/nothing-here does not exist"
    )
    page.goto(f"{console.base}/source/{namespace}/unmade/snapshots")
    sync_api.expect(page.locator(".problem-message")).to_contain_text("repository does not exist")
    page.goto(f"{console.base}/source/{namespace}/broken")
    forged = post_from_page(page, f"/source/{namespace}/broken/pause", csrf="forged")
    assert forged["status"] == 403, forged
    assert "stale" in forged["body"]["error"]

    cluster.kubectl("delete", SOURCE, "broken", "-n", namespace)
    sync_api.expect(page.locator("#said")).to_contain_text("was deleted")
    page.goto(f"{console.base}/")
    sync_api.expect(page.locator("#fleet-rows tr")).to_have_count(1)
    assert page.evaluate("fetch('/healthz').then(answer => answer.status)") == 200
