"""The node agent's pure rules: env expansion, image mapping, quantities, faults, node matching.

These decide what a container sees and where a pod may run; a mistake here would make the local
cluster behave unlike a real one, so each rule is checked against the behaviour Kubernetes
documents.
"""

from __future__ import annotations

import pathlib
import subprocess

import pytest
from lightkube.models import core_v1 as models
from lightkube.models import meta_v1
from localcluster.nodeagent import (
    envs,
    faults,
    images,
    layout,
    logserver,
    podstatus,
    provisioner,
    quantity,
    scheduler,
)

from pyvolsync import contract


def make_pod(**spec: object) -> models.Pod:
    return models.Pod(
        metadata=meta_v1.ObjectMeta(
            name="web-0", namespace="apps", uid="u-1", labels={"app": "web", "tier": "db"}
        ),
        spec=models.PodSpec(containers=[], nodeName="local-node", **spec),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(NAME)", "value"),
        ("pre-$(NAME)-post", "pre-value-post"),
        ("$$(NAME)", "$(NAME)"),
        ("$(MISSING)", "$(MISSING)"),
        ("$(NAME", "$(NAME"),
        ("cost $5 and $", "cost $5 and $"),
        ("$$$(NAME)", "$value"),
    ],
)
def test_variable_references_expand_like_kubernetes(text: str, expected: str) -> None:
    assert envs.expand(text, {"NAME": "value"}) == expected


def test_environment_orders_env_from_then_env_and_expands_earlier_values() -> None:
    container = models.Container(
        name="main",
        envFrom=[
            models.EnvFromSource(configMapRef=models.ConfigMapEnvSource(name="settings")),
            models.EnvFromSource(prefix="S_", secretRef=models.SecretEnvSource(name="creds")),
        ],
        env=[
            models.EnvVar(name="URL", value="https://$(HOST)/$(POD)"),
            models.EnvVar(
                name="POD",
                valueFrom=models.EnvVarSource(
                    fieldRef=models.ObjectFieldSelector(fieldPath="metadata.name")
                ),
            ),
            models.EnvVar(name="AGAIN", value="$(POD)"),
            models.EnvVar(
                name="MEMORY_MI",
                valueFrom=models.EnvVarSource(
                    resourceFieldRef=models.ResourceFieldSelector(
                        resource="limits.memory", divisor="1Mi"
                    )
                ),
            ),
        ],
        resources=models.ResourceRequirements(limits={"memory": "1536Ki"}),
    )
    result = envs.environment(
        make_pod(),
        container,
        secrets={"creds": {"TOKEN": "t", "bad key": "x"}},
        config_maps={"settings": {"HOST": "example.org"}},
        base={"PATH": "/bin"},
        node_allocatable={},
    )
    assert result == {
        "PATH": "/bin",
        "HOST": "example.org",
        "S_TOKEN": "t",
        "URL": "https://example.org/$(POD)",
        "POD": "web-0",
        "AGAIN": "web-0",
        "MEMORY_MI": "2",
    }


def test_a_missing_secret_key_blocks_the_container_unless_optional() -> None:
    def reference(optional: bool) -> models.Container:
        selector = models.SecretKeySelector(name="creds", key="absent", optional=optional)
        source = models.EnvVarSource(secretKeyRef=selector)
        return models.Container(name="c", env=[models.EnvVar(name="X", valueFrom=source)])

    arguments = {"secrets": {"creds": {}}, "config_maps": {}, "base": {}, "node_allocatable": {}}
    with pytest.raises(envs.ContainerConfigError, match="couldn't find key absent"):
        envs.environment(make_pod(), reference(False), **arguments)  # type: ignore[arg-type]
    assert envs.environment(make_pod(), reference(True), **arguments) == {}  # type: ignore[arg-type]


def test_downward_api_labels_render_as_sorted_assignments() -> None:
    assert envs.field_value(make_pod(), "metadata.labels") == 'app="web"\ntier="db"'
    assert envs.field_value(make_pod(), "metadata.labels['tier']") == "db"
    assert envs.field_value(make_pod(), "status.podIP") == "127.0.0.1"


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        (None, None, ["entry", "default"]),
        (None, ["x"], ["entry", "x"]),
        (["run"], None, ["run"]),
        (["run"], ["$(A)"], ["run", "a"]),
    ],
)
def test_command_and_args_replace_entrypoint_and_cmd(
    command: list[str] | None, args: list[str] | None, expected: list[str]
) -> None:
    container = models.Container(name="c", command=command, args=args)
    words = envs.command_line(container, entrypoint=("entry",), cmd=("default",), env={"A": "a"})
    assert words == expected


def test_a_distroless_debug_image_is_host_tools_with_its_busybox_directory(
    tmp_path: pathlib.Path,
) -> None:
    options = {"venv_bin": tmp_path, "tool_dirs": ()}
    runtime = images.resolve("gcr.io/distroless/static:debug-nonroot", [], **options)
    assert runtime.entrypoint == ("/busybox/sh",)
    assert runtime.binds == (("/usr/bin", "/busybox"),)
    assert runtime.path.endswith(":/busybox")
    with pytest.raises(images.ImageNotMappedError, match="use its :debug tag"):
        images.resolve("gcr.io/distroless/base-debian12:latest", ["/app"], **options)


def test_images_map_by_repository_name(tmp_path: pathlib.Path) -> None:
    venv = tmp_path / "bin"
    venv.mkdir()
    (venv / "pyvolsync-mover").touch()
    restic = tmp_path / "restic"
    options = {"venv_bin": venv, "tool_dirs": (restic,)}
    busybox = images.resolve("ghcr.io/home-operations/busybox:1.37.0", [], **options)
    assert busybox == images.Runtime(path=images.STANDARD_PATH, cmd=("sh",))
    mover = images.resolve("quay.io/example/pyvolsync-mover@sha256:abc", [], **options)
    assert mover.entrypoint == ("pyvolsync-mover",)
    assert mover.path.startswith(f"{venv}:{restic}:")
    assert (
        images.resolve("registry:5000/any/thing:1", ["pyvolsync-mover"], **options).path
        == mover.path
    )
    with pytest.raises(images.ImageNotMappedError, match="nginx"):
        images.resolve("nginx:1.27", ["nginx"], **options)


def test_the_noop_mover_image_reports_success_for_the_operations_asked(
    tmp_path: pathlib.Path,
) -> None:
    options = {"venv_bin": tmp_path / "bin", "tool_dirs": (tmp_path / "restic",)}
    runtime = images.resolve("registry.test/bench/pyvolsync-noop-mover:bench", [], **options)
    assert runtime.path == images.STANDARD_PATH
    argv = runtime.command_line(["pyvolsync-mover", "restic", "unlock", "backup", "prune"])
    assert argv[:2] == ["sh", "-c"]
    result_path = tmp_path / "termination-log"
    completed = subprocess.run(
        argv,
        env={"PATH": images.STANDARD_PATH, "PYVOLSYNC_RESULT_PATH": str(result_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "nothing copied" in completed.stdout
    result = contract.MoverResult.from_json(result_path.read_text())
    assert result.outcome is contract.Outcome.SUCCEEDED
    assert result.exit_code is contract.ExitCode.OK
    assert [item.operation for item in result.operations] == [
        contract.Operation.UNLOCK,
        contract.Operation.BACKUP,
        contract.Operation.PRUNE,
    ]
    assert all(item.outcome is contract.Outcome.SUCCEEDED for item in result.operations)
    assert len(result.snapshot_id) == 64
    assert int(result.snapshot_id, 16) >= 0
    assert result.started_at.endswith("Z")


def test_repository_name_ignores_registry_tag_and_digest() -> None:
    assert images.repository_name("busybox") == "busybox"
    assert images.repository_name("library/busybox:1") == "library/busybox"
    assert images.repository_name("localhost:5000/a/b:2@sha256:00") == "a/b"


def test_quantities_convert_exactly() -> None:
    assert quantity.to_bytes("1Gi") == 2**30
    assert quantity.to_bytes("1.5k") == 1500
    assert quantity.to_bytes("1e3") == 1000
    assert quantity.divide_ceiling("500m", "1") == 1
    with pytest.raises(ValueError, match="quantity"):
        quantity.to_bytes("lots")


def test_fault_annotations_parse() -> None:
    assert faults.parse_snapshot_fault("fail").fail
    assert faults.parse_snapshot_fault("delay=2.5").delay_seconds == 2.5
    assert faults.parse_volume_fault("readonly").read_only
    assert faults.parse_volume_fault("full").full_bytes == faults.DEFAULT_FULL_BYTES
    assert faults.parse_volume_fault("full=1Mi").full_bytes == 2**20
    assert faults.containers_to_kill(" a, b ,") == {"a", "b"}
    with pytest.raises(ValueError, match="snapshot-fault"):
        faults.parse_snapshot_fault("sometimes")


def test_node_selector_and_required_affinity_against_the_single_node() -> None:
    def term(key: str, operator: str, *values: str) -> models.NodeSelectorTerm:
        requirement = models.NodeSelectorRequirement(
            key=key, operator=operator, values=list(values)
        )
        return models.NodeSelectorTerm(matchExpressions=[requirement])

    def affinity(*terms: models.NodeSelectorTerm) -> models.Affinity:
        selector = models.NodeSelector(nodeSelectorTerms=list(terms))
        return models.Affinity(
            nodeAffinity=models.NodeAffinity(
                requiredDuringSchedulingIgnoredDuringExecution=selector
            )
        )

    assert scheduler.node_matches(make_pod(nodeSelector={"kubernetes.io/os": "linux"}), "n")
    assert not scheduler.node_matches(make_pod(nodeSelector={"disk": "ssd"}), "n")
    other = term("kubernetes.io/hostname", "In", "elsewhere")
    assert not scheduler.node_matches(make_pod(affinity=affinity(other)), "n")
    either = affinity(other, term("gpu", "DoesNotExist"))
    assert scheduler.node_matches(make_pod(affinity=either), "n")


def test_only_known_data_sources_are_provisioned() -> None:
    def claim_with(reference: models.TypedObjectReference | None) -> models.PersistentVolumeClaim:
        return models.PersistentVolumeClaim(
            metadata=meta_v1.ObjectMeta(name="c", namespace="n", uid="u"),
            spec=models.PersistentVolumeClaimSpec(dataSourceRef=reference),
        )

    populator = models.TypedObjectReference(
        apiGroup="volsync.backube", kind="ReplicationDestination", name="rd"
    )
    snapshot = models.TypedObjectReference(
        apiGroup="snapshot.storage.k8s.io", kind="VolumeSnapshot", name="s"
    )
    assert provisioner.left_to_populator(claim_with(populator))
    assert not provisioner.left_to_populator(claim_with(snapshot))
    assert not provisioner.left_to_populator(claim_with(None))
    assert provisioner.volume_name(claim_with(None)) == "pvc-u"


def test_nfs_exports_stay_inside_the_state_directory(tmp_path: pathlib.Path) -> None:
    state = layout.StateLayout(tmp_path)
    export = state.nfs_export("nas.local", "/mnt/vault/cluster/volsync")
    assert export == tmp_path / "nfs" / "nas.local" / "mnt" / "vault" / "cluster" / "volsync"
    with pytest.raises(ValueError, match="unsafe"):
        state.nfs_export("nas", "/mnt/../../etc")


def test_pod_conditions_keep_others_and_report_completion() -> None:
    scheduled = models.PodCondition(type="PodScheduled", status="True")
    done = podstatus.ContainerState("main", "busybox", init=False)
    done.state = {"terminated": {"exitCode": 0, "reason": "Completed"}}
    view = podstatus.PodView(
        phase="Succeeded", sandbox_ready=True, initialized=True, init_states=[], states=[done]
    )
    conditions = {c["type"]: c for c in podstatus.conditions(view, [scheduled])}
    assert conditions["PodScheduled"]["status"] == "True"
    assert conditions["Ready"]["status"] == "False"
    assert conditions["Ready"]["reason"] == "PodCompleted"
    assert conditions["PodReadyToStartContainers"]["status"] == "False"
    assert conditions["Initialized"]["status"] == "True"


def test_pod_conditions_name_the_unready_containers() -> None:
    waiting = podstatus.ContainerState("init", "busybox", init=True)
    main = podstatus.ContainerState("main", "busybox", init=False)
    view = podstatus.PodView(
        phase="Pending", sandbox_ready=True, initialized=False, init_states=[waiting], states=[main]
    )
    conditions = {c["type"]: c for c in podstatus.conditions(view, [])}
    assert conditions["Initialized"]["message"] == "containers with incomplete status: [init]"
    assert conditions["ContainersReady"]["message"] == "containers with unready status: [main]"
    document = podstatus.document(
        view, previous_conditions=[], start_time=None, reason=None, message=None
    )
    assert document["podIP"] == "127.0.0.1"
    assert [s["name"] for s in document["initContainerStatuses"]] == ["init"]
    assert document["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}


def test_log_selection_takes_the_tail_then_the_byte_limit() -> None:
    data = b"one\ntwo\nthree\n"
    assert logserver.select(data, tail_lines=2, limit_bytes=None) == b"two\nthree\n"
    assert logserver.select(data, tail_lines=0, limit_bytes=None) == b""
    assert logserver.select(data, tail_lines=None, limit_bytes=5) == b"one\nt"
