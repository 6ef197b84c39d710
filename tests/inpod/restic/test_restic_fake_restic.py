"""Failure paths real restic cannot produce on demand, through a tiny fake ``restic`` on PATH.

The fake answers ``version`` like restic and makes every other command print ``FAKE_STDERR`` and
exit with ``FAKE_EXIT``; it also appends its arguments to ``FAKE_LOG``.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from tests.inpod import inpod_support
from tests.inpod.restic import mover_support

from pyvolsync import contract

Outcome, Kind, ExitCode = contract.Outcome, contract.ErrorKind, contract.ExitCode

FAKE_RESTIC = """#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_LOG"
if [ "$1" = --cacert ]; then shift 2; fi
if [ "$1" = version ]; then
    echo "restic ${FAKE_VERSION:-0.18.1} compiled with go1.24.0 on linux/amd64"
    exit 0
fi
if [ -n "$FAKE_IGNORE_SIGTERM" ]; then
    trap '' TERM
    while :; do sleep 0.1; done
fi
printf '%s\\n' "$FAKE_STDERR" >&2
exit "${FAKE_EXIT:-1}"
"""


@pytest.fixture
def fake(workspace: mover_support.Workspace) -> dict[str, str]:
    """Environment overrides that put the fake restic first on PATH."""
    directory = workspace.root / "fake-bin"
    directory.mkdir()
    script = directory / "restic"
    script.write_text(FAKE_RESTIC)
    script.chmod(0o755)
    (workspace.data / "file").write_text("data")
    return {"PATH": f"{directory}:/usr/bin:/bin", "FAKE_LOG": str(workspace.root / "fake.log")}


@pytest.mark.parametrize(
    ("code", "stderr", "expected"),
    [
        (130, "signal interrupt received, cleaning up", (Kind.RESTIC_FAILED, ExitCode.FAILED)),
        (42, "a code from a future restic", (Kind.RESTIC_FAILED, ExitCode.FAILED)),
        (2, "panic: runtime error: index out of range", (Kind.RESTIC_FAILED, ExitCode.FAILED)),
        (
            1,
            'Fatal: Head "https://minio:9000/bucket/config": dial tcp: lookup minio: no such host',
            (Kind.REPOSITORY_UNREACHABLE, ExitCode.REPOSITORY),
        ),
        (
            1,
            "Fatal: unable to save snapshot: write /cache/x: no space left on device",
            (Kind.NO_SPACE, ExitCode.NOT_RETRIABLE),
        ),
    ],
)
def test_restic_failures_become_error_kinds(
    workspace: mover_support.Workspace,
    fake: dict[str, str],
    code: int,
    stderr: str,
    expected: tuple[contract.ErrorKind, contract.ExitCode],
) -> None:
    kind, exit_code = expected
    run = workspace.mover("backup", FAKE_EXIT=str(code), FAKE_STDERR=stderr, **fake)

    assert run.returncode == exit_code, run
    assert run.result.outcome is Outcome.FAILED
    assert run.result.error_kind is kind
    assert stderr.rsplit(": ", maxsplit=1)[-1] in run.result.message


def test_exit_10_from_a_backup_creates_the_repository_but_a_failed_init_is_reported(
    workspace: mover_support.Workspace, fake: dict[str, str]
) -> None:
    run = workspace.mover(
        "backup", FAKE_EXIT="10", FAKE_STDERR="Fatal: repository does not exist", **fake
    )

    calls = Path(fake["FAKE_LOG"]).read_text().splitlines()
    assert [call.split()[0] for call in calls] == ["version", "backup", "init"]
    assert run.result.error_kind is Kind.REPOSITORY_MISSING


def test_an_old_restic_is_refused_by_name(
    workspace: mover_support.Workspace, fake: dict[str, str]
) -> None:
    run = workspace.mover("backup", FAKE_VERSION="0.16.4", **fake)

    assert run.returncode == ExitCode.INVALID_CONFIGURATION, run
    assert "restic 0.16.4 is too old" in run.result.message
    assert Path(fake["FAKE_LOG"]).read_text().splitlines() == ["version"]


def test_no_restic_on_path_is_a_clear_error(workspace: mover_support.Workspace) -> None:
    run = workspace.mover("backup", PATH="/usr/bin:/bin")

    assert run.returncode == ExitCode.INVALID_CONFIGURATION, run
    assert "restic was not found on PATH" in run.result.message


def test_secrets_restic_prints_are_masked_everywhere(
    workspace: mover_support.Workspace, fake: dict[str, str]
) -> None:
    secrets = {
        "RESTIC_REPOSITORY": "s3:https://backup:url-pw-31337@s3.example/bucket",
        "AWS_ACCESS_KEY_ID": "AKIAFAKEKEYID0001",
        "AWS_SECRET_ACCESS_KEY": "fake/secret+access=key",
    }
    echo = " ".join([inpod_support.PASSWORD, *secrets.values()])

    run = workspace.mover("backup", FAKE_STDERR=f"Fatal: {echo}", **fake, **secrets)

    assert run.result.outcome is Outcome.FAILED
    for secret in ("url-pw-31337", "AKIAFAKEKEYID0001", "fake/secret+access=key"):
        assert secret not in run.output
        assert secret not in run.result_text
    assert "s3:https://backup:***@s3.example/bucket" in run.result.message


def test_custom_ca_is_given_to_every_restic_command(
    workspace: mover_support.Workspace, fake: dict[str, str]
) -> None:
    bundle = workspace.root / "ca.crt"
    bundle.write_text("-----BEGIN CERTIFICATE-----")

    workspace.mover("backup", CUSTOM_CA=str(bundle), FAKE_EXIT="1", **fake)

    calls = Path(fake["FAKE_LOG"]).read_text().splitlines()
    assert [call.split()[:3] for call in calls] == [
        ["--cacert", str(bundle), "version"],
        ["--cacert", str(bundle), "backup"],
    ]


def test_a_restic_that_ignores_sigterm_is_killed_after_the_grace_period(
    workspace: mover_support.Workspace, fake: dict[str, str]
) -> None:
    log = Path(fake["FAKE_LOG"])
    process = workspace.start_mover(
        "backup", "prune", FAKE_IGNORE_SIGTERM="1", PYVOLSYNC_TERMINATION_GRACE="1", **fake
    )
    inpod_support.wait_for(
        lambda: "backup" in (log.read_text() if log.exists() else ""),
        timeout=30,
        what="the fake restic backup",
    )

    process.send_signal(signal.SIGTERM)
    run = workspace.finish(process, timeout=30)

    assert run.returncode == ExitCode.CANCELLED, run
    assert run.result.error_kind is Kind.CANCELLED
    assert "did not stop within the grace period; killing it" in run.output
    assert [item.outcome for item in run.result.operations] == [Outcome.FAILED, Outcome.SKIPPED]
    assert "prune" not in log.read_text()
