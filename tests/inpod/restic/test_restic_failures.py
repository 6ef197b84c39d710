"""Failures real restic produces: bad password, unreadable repo, stale lock, damage, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

from tests.inpod import inpod_support
from tests.inpod.restic import mover_support

from pyvolsync import contract

Outcome, Kind, ExitCode = contract.Outcome, contract.ErrorKind, contract.ExitCode


def _repository_with_a_snapshot(workspace: mover_support.Workspace, size: int = 10_000) -> str:
    (workspace.data / "data.bin").write_bytes(os.urandom(size))
    run = workspace.mover("backup")
    assert run.result.outcome is Outcome.SUCCEEDED, run
    return run.result.snapshot_id


def test_wrong_password_is_named_and_never_reinitialises(
    workspace: mover_support.Workspace,
) -> None:
    _repository_with_a_snapshot(workspace)
    config_before = (workspace.repository / "config").read_bytes()

    for operation in ("backup", "restore"):
        run = workspace.mover(operation, RESTIC_PASSWORD="not-the-password-4711")

        assert run.returncode == ExitCode.WRONG_PASSWORD, run
        assert run.result.error_kind is Kind.WRONG_PASSWORD
        assert "RESTIC_PASSWORD key of the repository Secret" in run.result.message
        assert "not-the-password-4711" not in run.output + run.result_text
    assert (workspace.repository / "config").read_bytes() == config_before
    assert len(workspace.snapshots()) == 1


def test_an_unreadable_repository_fails_without_creating_anything(
    open_workspace: mover_support.Workspace,
) -> None:
    workspace = open_workspace
    (workspace.data / "file").write_text("data")
    workspace.restic("init")
    workspace.repository.chmod(0o700)
    path = workspace.restic_as_nobody(hand_over_repository=False)
    config_before = (workspace.repository / "config").read_bytes()

    restore = workspace.mover("restore", PATH=path)
    backup = workspace.mover("backup", PATH=path)

    assert restore.returncode == ExitCode.REPOSITORY, restore
    assert restore.result.error_kind is Kind.REPOSITORY_UNREACHABLE
    assert "permission denied" in restore.result.message
    assert backup.result.outcome is Outcome.FAILED, backup
    assert "permission denied" in backup.result.message
    assert (workspace.repository / "config").read_bytes() == config_before
    assert workspace.snapshots() == []


def _hold_exclusive_lock(workspace: mover_support.Workspace) -> subprocess.Popen[bytes]:
    """Start a restic that holds an exclusive lock (``key passwd`` waiting for its input)."""
    holder = subprocess.Popen(
        ["restic", "key", "passwd"],
        env=workspace.environ({}),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    locks = workspace.repository / "locks"
    try:
        inpod_support.wait_for(
            lambda: any("-tmp-" not in path.name for path in locks.iterdir()),
            timeout=30,
            what="restic's lock (written, not a temporary file)",
        )
    except BaseException:
        holder.kill()
        holder.communicate()
        raise
    return holder


def test_a_stale_lock_is_removed_and_the_backup_goes_on(
    workspace: mover_support.Workspace,
) -> None:
    _repository_with_a_snapshot(workspace)
    holder = _hold_exclusive_lock(workspace)
    holder.kill()
    holder.communicate()

    run = workspace.mover("backup", FORGET_OPTIONS="--keep-last 5")

    assert run.returncode == 0, run
    assert run.result.outcome is Outcome.SUCCEEDED
    assert "removed 1 stale lock(s) before restic backup (restic unlock)" in run.result.message
    assert list((workspace.repository / "locks").iterdir()) == []
    assert len(workspace.snapshots()) == 2


def test_a_live_lock_is_reported_and_kept(workspace: mover_support.Workspace) -> None:
    _repository_with_a_snapshot(workspace)
    holder = _hold_exclusive_lock(workspace)
    try:
        blocked = workspace.mover("backup", PYVOLSYNC_LOCK_WAIT="2")
        locks = list((workspace.repository / "locks").iterdir())
    finally:
        holder.kill()
        holder.communicate()

    assert blocked.returncode == ExitCode.REPOSITORY, blocked
    assert blocked.result.error_kind is Kind.REPOSITORY_LOCKED
    assert "spec.restic.unlock" in blocked.result.message
    assert "no lock was stale: another restic holds it; waiting up to 2 s" in blocked.output
    assert len(locks) == 1
    assert len(workspace.snapshots()) == 1


def test_a_backup_waits_for_a_lock_another_running_restic_releases(
    workspace: mover_support.Workspace,
) -> None:
    """Sources sharing a repository: one's forget holds it alone while another's backup starts."""
    _repository_with_a_snapshot(workspace)
    holder = _hold_exclusive_lock(workspace)
    mover = workspace.start_mover("backup", FORGET_OPTIONS="--keep-last 5")
    try:
        assert mover.stdout is not None
        waiting = next(line for line in mover.stdout if "waiting up to 120 s" in line)
    finally:
        holder.send_signal(signal.SIGINT)  # restic ends as on Ctrl-C: its lock is removed
        holder.communicate()
    run = workspace.finish(mover)

    assert "another restic holds it" in waiting
    assert run.returncode == 0, run
    assert run.result.outcome is Outcome.SUCCEEDED
    assert len(workspace.snapshots()) == 2


def test_a_backup_killed_mid_way_leaves_a_lock_the_next_backup_removes(
    workspace: mover_support.Workspace,
) -> None:
    process, _ = _mover_mid_backup(workspace, sparse_bytes=16 * 1024**3)
    _kill_restic_of(process)
    killed = workspace.finish(process, timeout=60)
    (workspace.data / "disk.img").unlink()
    (workspace.data / "small").write_text("small")

    again = workspace.mover("backup", FORGET_OPTIONS="--keep-last 1")

    assert killed.result.error_kind is Kind.RESTIC_FAILED, killed
    assert "restic was killed by signal SIGKILL" in killed.result.message
    assert again.returncode == 0, again
    assert "stale lock(s) before restic forget" in again.result.message
    assert list((workspace.repository / "locks").iterdir()) == []
    assert len(workspace.snapshots()) == 1
    workspace.restic("check")


def _kill_restic_of(process: subprocess.Popen[str]) -> None:
    """SIGKILL the restic child of a running mover (the mover itself lives on)."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    for child in children:
        if Path(f"/proc/{child}/comm").read_text().strip() == "restic":
            os.kill(int(child), signal.SIGKILL)
            return
    raise AssertionError(f"no restic child of the mover {process.pid}: {children}")


def test_a_read_only_repository_fails_at_once_and_says_so(
    open_workspace: mover_support.Workspace,
) -> None:
    workspace = open_workspace
    (workspace.data / "file").write_text("data")
    workspace.restic("init")
    subprocess.run(["chmod", "-R", "go+rX", str(workspace.repository)], check=True)
    path = workspace.restic_as_nobody(hand_over_repository=False)

    run = workspace.mover("backup", PATH=path)

    assert run.returncode == ExitCode.NOT_RETRIABLE, run
    assert run.result.error_kind is Kind.REPOSITORY_READ_ONLY
    assert "unable to create lock in backend" in run.result.message
    assert "permission denied" in run.result.message
    assert "check the repository volume's mount" in run.result.message
    assert workspace.snapshots() == []


def _damage_largest_pack(repository: Path) -> str:
    pack = max((repository / "data").glob("*/*"), key=lambda path: path.stat().st_size)
    pack.chmod(0o600)
    content = bytearray(pack.read_bytes())
    content[len(content) // 2] ^= 0xFF
    pack.write_bytes(bytes(content))
    return pack.name


def test_check_reading_data_finds_a_corrupted_pack(workspace: mover_support.Workspace) -> None:
    _repository_with_a_snapshot(workspace, size=3_000_000)
    pack = _damage_largest_pack(workspace.repository)

    run = workspace.mover("check", CHECK_READ_DATA_SUBSET="100%")

    assert run.returncode == ExitCode.NOT_RETRIABLE, run
    assert run.result.error_kind is Kind.REPOSITORY_DAMAGED
    assert pack[:16] in run.result.message
    assert "restic repair" in run.result.message


def test_check_passes_on_a_sound_repository(workspace: mover_support.Workspace) -> None:
    _repository_with_a_snapshot(workspace)

    run = workspace.mover("check", CHECK_READ_DATA_SUBSET="1/2")

    assert run.returncode == 0, run
    assert run.result.outcome is Outcome.SUCCEEDED
    assert "--read-data-subset 1/2" in run.output


def _read_until(process: subprocess.Popen[str], marker: str, lines: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if line.startswith(marker):
            return


def _mover_mid_backup(
    workspace: mover_support.Workspace, *, sparse_bytes: int
) -> tuple[subprocess.Popen[str], list[str]]:
    """Start a backup of a big sparse file; return the mover once it printed progress, and
    the lines it printed so far."""
    with open(workspace.data / "disk.img", "wb") as stream:
        stream.truncate(sparse_bytes)
    workspace.restic("init")
    process = workspace.start_mover("backup", PYVOLSYNC_PROGRESS_INTERVAL="0.5")
    lines: list[str] = []
    reader = threading.Thread(target=_read_until, args=(process, "backup: ", lines))
    reader.start()
    reader.join(timeout=120)
    return process, lines


def test_sigterm_mid_backup_releases_the_lock_and_reports_cancelled(
    workspace: mover_support.Workspace,
) -> None:
    process, lines = _mover_mid_backup(workspace, sparse_bytes=64 * 1024**3)

    process.send_signal(signal.SIGTERM)
    run = workspace.finish(process, timeout=60)

    progress = lines[-1]
    assert progress.startswith("backup: ") and "% done" in progress and "ETA" in progress, lines
    assert run.returncode == ExitCode.CANCELLED, run
    assert run.result.outcome is Outcome.FAILED
    assert run.result.error_kind is Kind.CANCELLED
    assert list((workspace.repository / "locks").iterdir()) == []
    assert workspace.snapshots() == []


def test_an_unreachable_repository_times_out_with_the_url_password_masked(
    workspace: mover_support.Workspace,
) -> None:
    repository = "rest:http://backup:url-password-8812@127.0.0.1:9/repo"

    run = workspace.mover("restore", RESTIC_REPOSITORY=repository, PYVOLSYNC_PROBE_TIMEOUT="2")

    assert run.returncode == ExitCode.REPOSITORY, run
    assert run.result.error_kind is Kind.REPOSITORY_UNREACHABLE
    assert "restic did not finish within 2 s" in run.result.message
    assert "url-password-8812" not in run.output + run.result_text


def test_a_stale_exclusive_lock_does_not_block_a_restore(
    workspace: mover_support.Workspace,
) -> None:
    (workspace.data / "file").write_text("kept")
    run = workspace.mover("backup")
    assert run.returncode == 0, run
    holder = _hold_exclusive_lock(workspace)
    holder.kill()
    holder.communicate()
    (workspace.data / "file").unlink()

    restored = workspace.mover("restore")

    assert restored.returncode == 0, restored
    assert "removed 1 stale lock(s) before restic restore (restic unlock)" in (
        restored.result.message
    )
    assert (workspace.data / "file").read_text() == "kept"
    assert list((workspace.repository / "locks").iterdir()) == []


def test_a_nearly_full_cache_volume_fails_before_restic_runs(
    workspace: mover_support.Workspace,
) -> None:
    (workspace.data / "file").write_text("data")
    mount_and_run = (
        f"mount -t tmpfs -o size=1m tmpfs {workspace.cache} && "
        f"exec {inpod_support.MOVER} restic backup"
    )
    completed = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", mount_and_run],
        env=workspace.environ({}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    run = inpod_support.MoverRun(
        completed.returncode, completed.stdout + completed.stderr, workspace.result_path.read_text()
    )

    assert run.returncode == ExitCode.NOT_RETRIABLE, run
    assert run.result.error_kind is Kind.NO_SPACE
    assert "less than the 16 MiB restic needs to cache a pack" in run.result.message
    assert "grow the cache volume" in run.result.message
    assert "running: restic backup" not in run.output
    assert not workspace.repository.exists()
