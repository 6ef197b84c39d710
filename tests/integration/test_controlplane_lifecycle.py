"""Starting and stopping the local cluster leaves nothing running behind.

Leaked etcd or apiserver processes would pile up across test runs on a two-core machine, so
both ways of running the cluster are checked end to end: the pytest fixture (in a nested pytest
session) and the `python -m localcluster up/down` commands behind `make cluster-up/down`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from localcluster import controlplane, processes

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
NESTED_TEST = textwrap.dedent(
    """
    import json
    import os
    import pathlib


    def test_record_the_cluster(cluster):
        entries = [[entry.name, entry.pid, entry.start_time] for entry in cluster.running()]
        record = {"entries": entries, "directory": str(cluster.directory)}
        pathlib.Path(os.environ["CLUSTER_RECORD"]).write_text(json.dumps(record))
    """
)


def _python_environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = str(REPOSITORY_ROOT)
    return environment


def _write_nested_session(directory: Path) -> None:
    (directory / "test_nested.py").write_text(NESTED_TEST)
    (directory / "pytest.ini").write_text("[pytest]\n")


def _nested_pytest(directory: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "localcluster.testing",
        "-p",
        "no:cacheprovider",
        f"--basetemp={directory / 'nested'}",
        "test_nested.py",
    ]


def _run(
    command: list[str], *, environment: dict[str, str], cwd: Path, succeed: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a command; when `succeed`, assert it exited 0 and show its output if not."""
    result = subprocess.run(
        command, capture_output=True, text=True, env=environment, cwd=cwd, timeout=300, check=False
    )
    if succeed:
        assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.cluster
def test_fixture_teardown_stops_every_process(tmp_path: Path) -> None:
    _write_nested_session(tmp_path)
    environment = _python_environment() | {"CLUSTER_RECORD": str(tmp_path / "record.json")}
    _run(_nested_pytest(tmp_path), environment=environment, cwd=tmp_path)
    record = json.loads((tmp_path / "record.json").read_text())
    names = {name for name, _, _ in record["entries"]}
    assert {"etcd", "kube-apiserver", "kube-controller-manager"} <= names
    survivors = [entry for entry in record["entries"] if processes.Recorded(*entry).alive()]
    assert survivors == []
    assert sorted(path.name for path in Path(record["directory"]).iterdir()) == ["logs"]


@pytest.mark.cluster
def test_up_then_down_from_separate_commands(tmp_path: Path) -> None:
    state = tmp_path / "state"
    environment = _python_environment()
    command = [sys.executable, "-m", "localcluster"]
    output = _run(
        [*command, "up", "--dir", str(state)], environment=environment, cwd=tmp_path
    ).stdout
    assert f"export KUBECONFIG={state / 'kubeconfig'}" in output
    plane = controlplane.ControlPlane(state)
    started = plane.running()
    try:
        assert {"etcd", "kube-apiserver", "kube-controller-manager"} <= {e.name for e in started}
        namespaces = plane.kubectl("get", "namespaces", "-o", "name").stdout.split()
        assert "namespace/default" in namespaces
        again = _run(
            [*command, "up", "--dir", str(state)],
            environment=environment,
            cwd=tmp_path,
            succeed=False,
        )
        assert again.returncode == 1
        assert "already running" in again.stderr
        status = _run(
            [*command, "status", "--dir", str(state)], environment=environment, cwd=tmp_path
        )
        assert "kube-apiserver" in status.stdout
    finally:
        _run([*command, "down", "--dir", str(state)], environment=environment, cwd=tmp_path)
    assert [entry for entry in started if entry.alive()] == []
    assert sorted(path.name for path in state.iterdir()) == ["logs"]


def test_fixture_fails_with_build_hint_when_binaries_are_missing(tmp_path: Path) -> None:
    _write_nested_session(tmp_path)
    environment = _python_environment() | {
        "CLUSTER_RECORD": str(tmp_path / "record.json"),
        "PYVOLSYNC_CACHE": str(tmp_path / "empty-cache"),
    }
    result = _run(_nested_pytest(tmp_path), environment=environment, cwd=tmp_path, succeed=False)
    assert result.returncode != 0
    assert "run `make localcluster-bin`" in result.stdout
    assert "1 error" in result.stdout
    assert not (tmp_path / "record.json").exists()


@pytest.mark.cluster
def test_start_retries_when_a_chosen_port_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_free_ports = processes.free_ports
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = int(squatter.getsockname()[1])
        handed_out: list[list[int]] = []

        def first_choice_taken(count: int) -> list[int]:
            ports = real_free_ports(count)
            if not handed_out:
                ports[0] = taken  # etcd's client port
            handed_out.append(ports)
            return ports

        monkeypatch.setattr(processes, "free_ports", first_choice_taken)
        messages: list[str] = []
        plane = controlplane.ControlPlane(
            tmp_path / "state", node_agent=False, progress=messages.append
        )
        with plane:
            assert plane.kubectl("get", "--raw", "/readyz").stdout == "ok"
            assert len(handed_out) == 2
            assert any("port was taken" in message for message in messages)
        assert plane.running() == []
