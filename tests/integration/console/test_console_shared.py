"""The console for several people, as the Helm chart runs it: its own ServiceAccount (the chart's
console RBAC), people logging in with a Kubernetes token or named by an authenticating proxy,
each seeing and doing only what their own RBAC allows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from localcluster import controlplane
from localcluster.testing import get
from playwright import sync_api
from tests.integration.cli.test_cli_commands import SOURCE, backed_up_source
from tests.integration.console.conftest import Ui, post_from_page
from tests.integration.reconcile import helpers
from tests.security import chart
from tests.support import kubeconfigs

RELEASE = "pyvolsync-console-test"
READ = {"apiGroups": ["volsync.backube"], "resources": ["replicationsources",
        "replicationdestinations"], "verbs": ["get", "list", "watch"]}  # fmt: skip
EDIT = {**READ, "verbs": ["get", "list", "watch", "patch"]}


@pytest.fixture(scope="module")
def console_kubeconfig(
    cluster: controlplane.ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The chart rendered with the console on, its RBAC applied; a kubeconfig of its account."""
    release = chart.Release.render(RELEASE, RELEASE, "console.enabled=true")
    release.install(cluster)
    return kubeconfigs.for_account(
        cluster, f"{RELEASE}-console", RELEASE, tmp_path_factory.mktemp("console") / "kubeconfig"
    )


def person(
    plane: controlplane.ControlPlane, namespace: str, name: str, rules: list[dict[str, Any]]
) -> str:
    """Create ServiceAccount `name` with a Role of `rules` in `namespace`; return its token."""
    kubeconfigs.grant(plane, name, namespace, rules)
    return kubeconfigs.token_of(plane, name, namespace)


def log_in(page: sync_api.Page, base: str, token: str) -> None:
    page.goto(f"{base}/")
    sync_api.expect(page.locator("h1")).to_have_text("Log in")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Log in").click()


def test_people_log_in_with_a_token_and_see_and_do_only_what_their_rbac_allows(
    cluster: controlplane.ControlPlane, namespace: str, ui: Ui, console_kubeconfig: Path
) -> None:
    backed_up_source(cluster, namespace)
    viewer = person(cluster, namespace, "viewer", [READ])
    editor = person(cluster, namespace, "editor", [EDIT])
    console = ui.start(console_kubeconfig, "--auth", "token", "--address", "127.0.0.1")
    page = ui.page

    log_in(page, console.base, "not-a-token")
    sync_api.expect(page.locator("#login-problem")).to_contain_text("does not accept this token")

    log_in(page, console.base, viewer)
    sync_api.expect(page.locator(".who")).to_contain_text(
        f"system:serviceaccount:{namespace}:viewer"
    )
    rows = page.locator("#fleet-rows tr")
    sync_api.expect(rows.first).to_be_visible()
    namespaces = set(rows.evaluate_all("rows => rows.map(row => row.dataset.sort.split('/')[0])"))
    assert namespaces == {namespace}, "a person sees only the namespaces their RBAC lets them list"
    page.get_by_role("link", name=f"{namespace}/app").click()
    sync_api.expect(page.get_by_role("button", name="Pause")).to_be_disabled()
    refused = post_from_page(page, f"/source/{namespace}/app/pause")
    assert refused["status"] == 403, refused
    assert "your RBAC does not let you patch" in refused["body"]["error"]
    page.goto(f"{console.base}/source/{namespace}/app/snapshots")
    sync_api.expect(page.locator(".problem-message")).to_contain_text("create jobs")
    assert not (get(cluster, SOURCE, "app", namespace=namespace) or {})["spec"].get("paused")

    page.context.clear_cookies()
    log_in(page, console.base, editor)
    page.get_by_role("link", name=f"{namespace}/app").click()
    page.get_by_role("button", name="Pause").click()
    sync_api.expect(page.locator("#said")).to_contain_text("paused")
    assert (get(cluster, SOURCE, "app", namespace=namespace) or {})["spec"]["paused"] is True
    notes = [event.get("note", "") for event in helpers.events(cluster, namespace, "app")]
    assert f"paused by system:serviceaccount:{namespace}:editor from the pyvolsync console" in notes


def test_behind_an_authenticating_proxy_the_headers_name_the_person(
    cluster: controlplane.ControlPlane, namespace: str, ui: Ui, console_kubeconfig: Path
) -> None:
    backed_up_source(cluster, namespace)
    person(cluster, namespace, "editor", [EDIT])
    user = f"system:serviceaccount:{namespace}:editor"
    elsewhere = ui.start(console_kubeconfig, "--auth", "proxy", "--address", "127.0.0.1",
                         "--trusted-proxy", "10.42.0.0/16")  # fmt: skip
    page = ui.page
    page.context.set_extra_http_headers({"X-Forwarded-User": user})
    page.goto(f"{elsewhere.base}/")
    sync_api.expect(page.locator(".problem-message")).to_contain_text(
        "only from the addresses given with --trusted-proxy"
    )
    console = ui.start(console_kubeconfig, "--auth", "proxy", "--address", "127.0.0.1",
                       "--trusted-proxy", "127.0.0.1")  # fmt: skip

    page.context.set_extra_http_headers({})
    page.goto(f"{console.base}/")
    sync_api.expect(page.locator(".problem-message")).to_contain_text("authenticating proxy")

    page.context.set_extra_http_headers({"X-Forwarded-User": user})
    page.goto(f"{console.base}/")
    sync_api.expect(page.locator(".who")).to_contain_text(user)
    page.get_by_role("link", name=f"{namespace}/app").click()
    page.get_by_role("button", name="Pause").click()
    sync_api.expect(page.locator("#said")).to_contain_text("paused")
    assert (get(cluster, SOURCE, "app", namespace=namespace) or {})["spec"]["paused"] is True
