"""The node agent's exec endpoint answers in the kubelet's words.

What the request may ask, which WebSocket subprotocol is chosen, the Status written on channel 3
(read back with the operator's own client, so both ends agree), exit codes of signalled
commands, the messages of a command that cannot start, and the process tree that is killed when
a client goes away. The whole path through kube-apiserver is
tests/integration/test_nodeagent_exec.py.
"""

from __future__ import annotations

import json
import pathlib
import signal
import subprocess
import sys

import pytest
from localcluster import testing
from localcluster.nodeagent import enter, execserver
from multidict import MultiDict

from pyvolsync.kube import podexec

PAUSE = "import signal; signal.pause()"


def test_the_query_is_read_as_a_kubelet_reads_it() -> None:
    query = MultiDict([("command", "sh"), ("command", "-c"), ("command", "id"), ("output", "1")])
    assert execserver.options_of(query) == execserver.Options(
        ("sh", "-c", "id"), stdin=False, stdout=True, stderr=False
    )
    with pytest.raises(ValueError, match="at least 1 command"):
        execserver.options_of(MultiDict([("output", "1")]))
    with pytest.raises(ValueError, match="tty is not supported"):
        execserver.options_of(MultiDict([("command", "sh"), ("input", "1"), ("tty", "1")]))
    with pytest.raises(ValueError, match="at least one of stdin, stdout, stderr"):
        execserver.options_of(MultiDict([("command", "sh"), ("stdout", "1")]))
    both = MultiDict([("command", "cat"), ("input", "true"), ("error", "true")])
    assert execserver.options_of(both) == execserver.Options(
        ("cat",), stdin=True, stdout=False, stderr=True
    )


def test_v5_and_v4_websockets_are_spoken() -> None:
    assert execserver.chosen_protocol("v5.channel.k8s.io, v4.channel.k8s.io") == (
        "v5.channel.k8s.io"
    )
    assert execserver.chosen_protocol("v4.channel.k8s.io") == "v4.channel.k8s.io"
    assert execserver.chosen_protocol("channel.k8s.io, base64.channel.k8s.io") is None
    assert execserver.chosen_protocol("") is None


def test_the_status_carries_the_exit_code_the_client_reads() -> None:
    command = ("sh", "-c", "exit 3")
    failed = execserver.exit_status(command, 3)
    assert failed["message"] == (
        "command terminated with non-zero exit code: error executing command "
        "[sh -c exit 3], exit code 3"
    )
    assert podexec.parse_status(json.dumps(failed).encode()) == (3, failed["message"])
    succeeded = execserver.exit_status(command, 0)
    assert succeeded == {"metadata": {}, "status": "Success"}
    assert podexec.parse_status(json.dumps(succeeded).encode()) == (0, "")


def test_a_command_that_cannot_start_names_itself_and_why() -> None:
    reason = 'exec: "sqlite3": executable file not found in $PATH'
    status = execserver.start_failure_status(("sqlite3", "/data/app.db"), reason, 127)
    code, message = podexec.parse_status(json.dumps(status).encode())
    assert code == 127
    assert message == f"cannot run command [sqlite3 /data/app.db]: {reason} (exit code 127)"


def test_a_signalled_command_reports_128_plus_the_signal() -> None:
    assert execserver.exit_code_of(-signal.SIGKILL) == 137
    assert execserver.exit_code_of(-signal.SIGTERM) == 143
    assert execserver.exit_code_of(3) == 3


def test_the_helper_says_why_a_command_cannot_start(tmp_path: pathlib.Path) -> None:
    with pytest.raises(enter.StartError) as missing:
        enter.start(["no-such-command-here"], {"PATH": str(tmp_path)})
    assert (str(missing.value), missing.value.code) == (
        'exec: "no-such-command-here": executable file not found in $PATH',
        127,
    )
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(enter.StartError) as not_executable:
        enter.start([str(script)], {"PATH": str(tmp_path)})
    assert (str(not_executable.value), not_executable.value.code) == (
        f'exec: "{script}": Permission denied',
        126,
    )


def test_the_whole_process_tree_is_killed() -> None:
    """A child that left the command's process group dies too."""
    script = "\n".join(
        [
            "import subprocess, sys",
            f"subprocess.Popen([sys.executable, '-c', {PAUSE!r}], start_new_session=True)",
            "print('started', flush=True)",
            PAUSE,
        ]
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, start_new_session=True
    ) as parent:
        assert parent.stdout is not None
        assert parent.stdout.readline() == b"started\n"
        tree = execserver.process_tree(parent.pid)
        assert len(tree) == 2, tree
        execserver.kill_tree(parent.pid)
        assert parent.wait(timeout=10) == -signal.SIGKILL
    testing.wait_until(lambda: gone(tree[1]), what="the escaped child to be killed", timeout=10)


def gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (absent, or a zombie waiting for its new parent)."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"
