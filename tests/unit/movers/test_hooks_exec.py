"""An exec hook against the in-memory cluster: which pod and container it runs in, and what a
person reads afterwards. (test_hooks_fake_cluster.py plays the hooks; this runs ``hooks.run``
itself; the real exec through the API server is tests/integration/reconcile/test_hooks.py.)"""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

from pyvolsync.kube import fake, podexec
from pyvolsync.movers import hooks
from pyvolsync.movers.hooksettings import Hook, Kind, Moment
from pyvolsync.planning import metadata

NAMESPACE = "apps"
DUMP = ("sqlite3", "/data/app.db", ".backup /data/app-backup.db")


def app_pod(name: str, *, phase: str = "Running", labels: dict[str, str] | None = None) -> Any:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels or {}},
        "spec": {
            "containers": [
                {"name": "sidecar"},
                {"name": "db", "volumeMounts": [{"name": "state", "mountPath": "/data"}]},
            ],
            "volumes": [{"name": "state", "persistentVolumeClaim": {"claimName": "data"}}],
        },
        "status": {"phase": phase},
    }


def run(kube: fake.FakeKube, **settings: Any) -> hooks.Outcome:
    hook = Hook(moment=Moment.BEFORE, kind=Kind.EXEC, command=DUMP, **settings)
    owner = metadata.Owner(
        api_version="volsync.backube/v1alpha1",
        kind="ReplicationSource",
        name="app",
        namespace=NAMESPACE,
        uid="u-1",
    )
    return asyncio.run(hooks.run(kube, hook, hooks.Target(owner=owner, claim="data")))


def test_it_runs_in_the_container_that_mounts_the_volume() -> None:
    kube = fake.FakeKube()
    kube.put(app_pod("db-0"))
    kube.exec_results[DUMP] = podexec.ExecResult(exit_code=0)

    outcome = run(kube, timeout=datetime.timedelta(seconds=30))

    assert outcome == hooks.Outcome(
        result=hooks.Result.SUCCEEDED, message="ran in pod db-0, container db"
    )
    (call,) = kube.exec_calls
    assert (call.pod, call.container, call.command, call.timeout) == ("db-0", "db", DUMP, 30.0)


def test_a_failing_command_names_its_exit_code_and_last_words() -> None:
    kube = fake.FakeKube()
    kube.put(app_pod("db-0"))
    kube.exec_results[DUMP] = podexec.ExecResult(exit_code=5, stderr="database is locked\n")

    outcome = run(kube)

    assert outcome.result is hooks.Result.FAILED
    assert outcome.message == "exit code 5 in pod db-0, container db: database is locked"


def test_a_missing_command_is_named_and_a_timeout_says_so() -> None:
    kube = fake.FakeKube()
    kube.put(app_pod("db-0"))
    missing = run(kube)
    assert missing.result is hooks.Result.FAILED
    assert 'exec: "sqlite3": executable file not found' in missing.message

    kube.exec_results[DUMP] = podexec.ExecResult(exit_code=None, timed_out=True)
    stopped = run(kube, timeout=datetime.timedelta(seconds=5))
    assert (
        stopped.message == "did not finish within 0:00:05 in pod db-0, container db; it was stopped"
    )


def test_labels_and_a_container_name_pick_another_pod_and_a_wrong_name_is_named() -> None:
    kube = fake.FakeKube()
    kube.put(app_pod("db-0"))
    kube.put(app_pod("tools-0", labels={"app": "tools"}))
    kube.exec_results[DUMP] = podexec.ExecResult(exit_code=0)

    chosen = run(kube, pod_selector=(("app", "tools"),), container="sidecar")
    assert chosen.message == "ran in pod tools-0, container sidecar"

    wrong = run(kube, pod_selector=(("app", "tools"),), container="postgres")
    assert wrong.result is hooks.Result.FAILED
    assert "has no container 'postgres' (it has sidecar, db)" in wrong.message


def test_no_running_app_pod_skips_the_hook_naming_the_setting() -> None:
    kube = fake.FakeKube()
    kube.put(app_pod("db-0", phase="Succeeded"))

    outcome = run(kube)

    assert outcome.result is hooks.Result.SKIPPED
    assert "no running pod mounts PVC data in namespace apps" in outcome.message
    assert "pyvolsync.dev/before-backup-pod" in outcome.message
    assert kube.exec_calls == []
