"""A container's filesystem view, built for real in a private mount namespace (needs root).

The launcher is what makes a local process look like a container to the mover: volumes at their
mountPaths, read-only mounts, a termination-message file, a dropped identity. These tests start
it exactly as the node agent does and check both what the process sees and that the host's own
directories are left untouched.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import uuid

from localcluster.nodeagent import podworker


def launch(tmp_path: pathlib.Path, script: str, **plan: object) -> subprocess.CompletedProcess[str]:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    full_plan = {
        "root": str(root),
        "tool_paths": [],
        "volumes": [],
        "working_dir": "/",
        "argv": ["sh", "-c", script],
        "env": {"PATH": "/usr/bin:/bin"},
        "error_file": str(tmp_path / "start-error"),
        **plan,
    }
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(full_plan))
    command = ["unshare", "--mount", "--propagation", "private", "--",
               sys.executable, "-I", "-S", str(podworker.LAUNCHER), str(plan_path)]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def test_volumes_appear_at_their_mount_paths_without_touching_the_host(
    tmp_path: pathlib.Path,
) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "file").write_text("data\n")
    top = f"/lc-test-{uuid.uuid4().hex[:8]}"
    nested = f"/etc/lc-test-{uuid.uuid4().hex[:8]}/conf"
    mounts = [
        {"source": str(volume), "target": top},
        {"source": str(volume), "target": nested, "read_only": True},
    ]
    script = (
        f"cat {top}/file {nested}/file; echo x > {top}/new;"
        f" touch {nested}/x || echo refused; ls /etc/passwd"
    )
    result = launch(tmp_path, script, volumes=mounts)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "data\ndata\nrefused\n/etc/passwd\n"
    assert "Read-only file system" in result.stderr
    assert (volume / "new").read_text() == "x\n"
    assert not os.path.exists(top)
    assert not os.path.exists(os.path.dirname(nested))


def test_identity_working_dir_and_termination_message(tmp_path: pathlib.Path) -> None:
    message = tmp_path / "termination-log"
    message.touch()
    message.chmod(0o666)
    result = launch(
        tmp_path,
        "id -u; id -g; id -G; pwd; echo done > /dev/termination-log",
        uid=1234, gid=2345, groups=[3456],
        working_dir="/srv/app",
        termination_log={"source": str(message), "target": "/dev/termination-log"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1234", "2345", "2345", "3456", "/srv/app"]
    assert not os.path.exists("/srv/app")
    assert message.read_text() == "done\n"


def test_a_full_volume_refuses_writes_beyond_its_budget(tmp_path: pathlib.Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "kept").write_text("old\n")
    mounts = [{"source": str(volume), "target": "/data", "full_bytes": 65536}]
    script = "cat /data/kept; head -c 1000000 /dev/zero > /data/big || echo no-space"
    result = launch(tmp_path, script, volumes=mounts)
    assert result.stdout == "old\nno-space\n"
    assert "No space left on device" in result.stderr
    assert sorted(os.listdir(volume)) == ["kept"]


def test_an_unknown_command_is_a_start_error(tmp_path: pathlib.Path) -> None:
    result = launch(tmp_path, "", argv=["no-such-program-here"])
    assert result.returncode == 128
    error = (tmp_path / "start-error").read_text()
    assert error == 'exec: "no-such-program-here": executable file not found in $PATH\n'
