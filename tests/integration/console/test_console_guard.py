"""The anomaly guard in the console: a wiped app's page says so, and Acknowledge releases it.

The same wipe as `pyvolsync ack`'s test (real restic, the real operator): the source's page shows
what is gone and which snapshot is pinned, a person acknowledges from the page, the operator
clears the anomaly and the page, reloaded, shows none; asking again is refused clearly.
"""

from __future__ import annotations

from typing import Any

from localcluster import controlplane
from localcluster.testing import get, wait_until
from playwright import sync_api
from tests.integration.cli.test_cli_commands import SOURCE
from tests.integration.cli.test_cli_guard import wiped_source
from tests.integration.console.conftest import Ui, post_from_page, screenshot
from tests.integration.reconcile import helpers

from pyvolsync.planning import guard


def test_a_suspicious_backup_is_shown_and_acknowledged_from_the_page(
    cluster: controlplane.ControlPlane, namespace: str, ui: Ui
) -> None:
    jobs: dict[str, dict[str, Any]] = {}
    _, wiped = wiped_source(cluster, namespace, jobs)
    anomaly = wiped["anomaly"]
    base = ui.start(cluster.kubeconfig, "-n", namespace).base
    page = ui.page
    page.goto(f"{base}/source/{namespace}/app")

    alert = page.get_by_role("alert")
    sync_api.expect(alert).to_contain_text("Suspicious backup: retention and prune are held")
    sync_api.expect(alert).to_contain_text("54 of 60 files are gone (90%)")
    sync_api.expect(alert).to_contain_text(anomaly["lastGood"][:8])
    screenshot(page, "console-anomaly")
    page.get_by_role("button", name="Acknowledge: the change was intended").click()
    sync_api.expect(page.locator("#said")).to_contain_text("suspicious backup acknowledged")

    wait_until(
        lambda: "anomaly" not in helpers.status(cluster, SOURCE, "app", namespace),
        what="the operator to clear the acknowledged anomaly",
    )
    annotations = (get(cluster, SOURCE, "app", namespace=namespace) or {})["metadata"][
        "annotations"
    ]
    assert annotations[guard.ACKNOWLEDGED_ANNOTATION] == anomaly["snapshotID"]
    reasons = [event["reason"] for event in helpers.events(cluster, namespace, "app")]
    assert "AnomalyAcknowledgeRequested" in reasons and "AnomalyAcknowledged" in reasons
    page.reload()
    sync_api.expect(page.locator("h1")).to_contain_text(f"{namespace}/app")
    sync_api.expect(page.get_by_role("alert")).to_have_count(0)
    again = post_from_page(page, f"/source/{namespace}/app/ack")
    assert again["status"] == 409, again
    assert again["body"]["error"] == "there is no suspicious backup to acknowledge"
