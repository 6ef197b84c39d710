"""The mover Job as admission policies, restic and people see it: names, labels, env, volumes."""

from __future__ import annotations

from typing import Any

from pyvolsync import contract
from pyvolsync.api import destination, source
from pyvolsync.movers import jobs as job
from pyvolsync.movers.restic import engine
from pyvolsync.planning import metadata

OWNER = metadata.Owner(
    api_version="volsync.backube/v1alpha1",
    kind="ReplicationSource",
    name="app",
    namespace="apps",
    uid="uid-1",
)
SETTINGS = job.JobSettings(image="example/pyvolsync-mover:1", retries=2)


def plan(spec: Any, **changes: Any) -> job.JobPlan:
    values: dict[str, Any] = {
        "owner": OWNER,
        "name": "volsync-src-app",
        "service_account": "volsync-src-app",
        "operations": (contract.Operation.BACKUP,),
        "spec": spec,
        "mover": engine.Restic(),
        "data_claim": "volsync-app-src",
        "data_read_only": False,
        "cache_claim": "volsync-src-app-cache",
        "secret_name": "repo",
        "secret_keys": frozenset({"RESTIC_REPOSITORY", "RESTIC_PASSWORD"}),
        "privileged": False,
    }
    values.update(changes)
    return job.JobPlan(**values)


def env(planned: dict[str, Any]) -> dict[str, Any]:
    container = planned["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def test_the_job_carries_upstreams_names_and_labels() -> None:
    planned = job.mover_job(plan(source.ResticSourceSpec()), SETTINGS)
    assert planned["metadata"]["name"] == "volsync-src-app"
    assert planned["metadata"]["labels"]["app.kubernetes.io/created-by"] == "volsync"
    assert planned["metadata"]["labels"]["volsync.backube/cleanup"] == "uid-1"
    template = planned["spec"]["template"]
    assert template["metadata"]["labels"]["app.kubernetes.io/created-by"] == "volsync"
    # The spec's admission policies patch the first container's volumeMounts.
    mounts = template["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "data", "mountPath": "/data"} in mounts
    assert {"name": "cache", "mountPath": "/cache"} in mounts
    assert planned["metadata"]["ownerReferences"][0]["controller"] is True


def test_retries_are_bounded_and_bad_configuration_fails_at_once() -> None:
    planned = job.mover_job(plan(source.ResticSourceSpec()), SETTINGS)
    assert planned["spec"]["backoffLimit"] == 2
    rule = planned["spec"]["podFailurePolicy"]["rules"][0]
    assert rule["action"] == "FailJob"
    assert rule["onExitCodes"]["values"] == [2, 4, 10, 12]


def test_the_planned_operations_are_recorded_and_read_back() -> None:
    operations = (contract.Operation.UNLOCK, contract.Operation.BACKUP, contract.Operation.PRUNE)
    planned = job.mover_job(plan(source.ResticSourceSpec(), operations=operations), SETTINGS)
    assert planned["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "unlock",
        "backup",
        "prune",
    ]
    assert job.planned_operations(planned) == operations


def test_source_environment_follows_upstreams_contract() -> None:
    spec = source.ResticSourceSpec.model_validate({"retain": {"hourly": 24, "daily": 7}})
    variables = env(job.mover_job(plan(spec), SETTINGS))
    assert variables["FORGET_OPTIONS"] == "--keep-hourly 24 --keep-daily 7"
    assert variables["DATA_DIR"] == "/data"
    assert variables["RESTIC_CACHE_DIR"] == "/cache"
    assert variables["PRIVILEGED_MOVER"] == "0"
    # Credentials come from the Secret by reference, never as values.
    assert variables["RESTIC_PASSWORD"] == {
        "secretKeyRef": {"name": "repo", "key": "RESTIC_PASSWORD", "optional": False}
    }


def test_optional_backend_keys_are_passed_only_when_present() -> None:
    keys = frozenset({"RESTIC_REPOSITORY", "RESTIC_PASSWORD", "AWS_ACCESS_KEY_ID", "RCLONE_X"})
    variables = env(job.mover_job(plan(source.ResticSourceSpec(), secret_keys=keys), SETTINGS))
    assert variables["AWS_ACCESS_KEY_ID"]["secretKeyRef"]["optional"] is True
    assert "RCLONE_X" in variables
    assert "AWS_SECRET_ACCESS_KEY" not in variables


def test_destination_environment() -> None:
    spec = destination.ResticDestinationSpec.model_validate(
        {"previous": 2, "restoreAsOf": "2026-03-01T10:00:00Z", "enableFileDeletion": True}
    )
    variables = env(job.mover_job(plan(spec, operations=(contract.Operation.RESTORE,)), SETTINGS))
    assert variables["SELECT_PREVIOUS"] == "2"
    assert variables["RESTORE_AS_OF"] == "2026-03-01T10:00:00Z"
    assert variables["RESTORE_OPTIONS"] == "--delete"
    assert variables["FORGET_OPTIONS"] == ""


def test_mover_pod_settings_are_applied() -> None:
    spec = source.ResticSourceSpec.model_validate(
        {
            "moverSecurityContext": {"runAsUser": 1000, "fsGroup": 1000},
            "moverPodLabels": {"team": "photos"},
            "moverResources": {"limits": {"memory": "512Mi"}},
            "moverVolumes": [
                {"mountPath": "extra", "volumeSource": {"secret": {"secretName": "s"}}}
            ],
        }
    )
    pod = job.mover_job(plan(spec), SETTINGS)["spec"]["template"]
    assert pod["metadata"]["labels"]["team"] == "photos"
    assert pod["spec"]["securityContext"] == {"runAsUser": 1000, "fsGroup": 1000}
    container = pod["spec"]["containers"][0]
    assert container["resources"] == {"limits": {"memory": "512Mi"}}
    assert {"name": "u-extra", "mountPath": "/mnt/extra"} in container["volumeMounts"]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_privileged_movers_get_upstreams_capabilities() -> None:
    container = job.mover_job(plan(source.ResticSourceSpec(), privileged=True), SETTINGS)["spec"][
        "template"
    ]["spec"]["containers"][0]
    assert container["securityContext"]["capabilities"]["add"] == [
        "DAC_OVERRIDE",
        "CHOWN",
        "FOWNER",
    ]
    assert container["securityContext"]["runAsUser"] == 0
    assert (
        env({"spec": {"template": {"spec": {"containers": [container]}}}})["PRIVILEGED_MOVER"]
        == "1"
    )


def test_custom_ca_is_mounted_and_named_in_the_environment() -> None:
    spec = source.ResticSourceSpec.model_validate(
        {"customCA": {"configMapName": "ca", "key": "root.pem"}}
    )
    planned = job.mover_job(plan(spec), SETTINGS)
    pod = planned["spec"]["template"]["spec"]
    volume = next(item for item in pod["volumes"] if item["name"] == "custom-ca")
    assert volume["configMap"] == {"name": "ca", "items": [{"key": "root.pem", "path": "ca.crt"}]}
    assert env(planned)["CUSTOM_CA"] == "/customCA/ca.crt"


def test_the_default_repository_volume_is_mounted_at_slash_repository() -> None:
    nfs = {"nfs": {"server": "nas", "path": "/mnt/vault/cluster/volsync"}}
    settings = job.JobSettings(image="x", repository_volume=nfs)
    pod = job.mover_job(plan(source.ResticSourceSpec()), settings)["spec"]["template"]["spec"]
    assert {"name": "repository", **nfs} in pod["volumes"]
    mounts = pod["containers"][0]["volumeMounts"]
    assert {"name": "repository", "mountPath": "/repository"} in mounts


def test_without_a_default_repository_volume_none_is_added() -> None:
    pod = job.mover_job(plan(source.ResticSourceSpec()), SETTINGS)["spec"]["template"]["spec"]
    assert all(item["name"] != "repository" for item in pod["volumes"])


def test_a_source_names_itself_for_its_snapshot_tags() -> None:
    backup = env(job.mover_job(plan(source.ResticSourceSpec()), SETTINGS))
    restore = env(
        job.mover_job(
            plan(destination.ResticDestinationSpec(), operations=(contract.Operation.RESTORE,)),
            SETTINGS,
        )
    )
    assert backup["PYVOLSYNC_SOURCE"] == "apps/app"
    assert "PYVOLSYNC_SOURCE" not in restore


def test_the_check_subset_is_passed_only_to_a_job_that_checks() -> None:
    settings = job.JobSettings(image="example/pyvolsync-mover:1", check_read_data_subset="5%")
    checking = plan(
        source.ResticSourceSpec(), operations=(contract.Operation.BACKUP, contract.Operation.CHECK)
    )
    assert env(job.mover_job(checking, settings))["CHECK_READ_DATA_SUBSET"] == "5%"
    assert "CHECK_READ_DATA_SUBSET" not in env(
        job.mover_job(plan(source.ResticSourceSpec()), settings)
    )
    assert "CHECK_READ_DATA_SUBSET" not in env(job.mover_job(checking, SETTINGS))
