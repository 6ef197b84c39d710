"""`pyvolsync sync --wait` shows a backup advancing; `status`, `describe` and `logs -f` follow it.

A real backup of 2.5 GiB of random data (incompressible, so restic must read, hash, encrypt and
write all of it) lasts long enough for the operator to publish `status.progress` more than once
(at most every 10 s). Without a terminal the CLI prints one line per change, which is what
this test reads while the sync runs.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading

from localcluster import controlplane
from localcluster.testing import apply, wait_until
from tests.integration.cli.conftest import Cli
from tests.integration.reconcile import helpers

SIZE_MIB = 2560
PROGRESS_LINE = re.compile(r"^app: (\d+)% ")


def test_sync_wait_shows_the_percentage_advance_during_a_large_backup(
    cluster: controlplane.ControlPlane, namespace: str, operator: object, cli: Cli
) -> None:
    apply(
        cluster,
        helpers.repository_secret("repo", path=f"{namespace}/app"),
        helpers.claim("data", size="4Gi"),
        namespace=namespace,
    )
    apply(cluster, helpers.replication_source("app", copy_method="Direct"), namespace=namespace)
    helpers.wait_for_manual_sync(cluster, "replicationsource", "app", namespace, "first")
    helpers.run_shell(
        cluster,
        namespace,
        "write",
        claim_name="data",
        script=f"head -c {SIZE_MIB * 2**20} /dev/urandom > /data/random && sync",
    )

    following = cli.start("sync", "app", "-n", namespace, "--wait", "--timeout", "900")
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(_lines(following)), daemon=True)
    reader.start()
    running = wait_until(
        lambda: _running_row(cli, namespace),
        what="`pyvolsync status` to show the backup's progress",
        timeout=300,
    )
    described = cli("describe", "app", "-n", namespace).stdout
    log_follower = cli.start("logs", "app", "-n", namespace, "--follow")
    exit_code = following.wait(timeout=900)
    reader.join(timeout=10)
    followed_log, _ = log_follower.communicate(timeout=120)
    assert following.stdout is not None
    following.stdout.close()
    assert exit_code == 0, "\n".join(lines)

    assert "volsync-src-app" in described
    assert re.search(r"container restic\s+running", described), described
    assert re.search(r"pod phase\s+Running", described), described
    assert re.search(r"operations\s+backup", described), described
    assert log_follower.returncode == 0
    assert "=== Done ===" in followed_log, "logs -f follows the mover to its end"

    assert 0 <= running["progress"]["percent"] < 100
    assert running["progress"]["bytesTotal"] >= SIZE_MIB * 2**20
    shown = [int(match.group(1)) for line in lines if (match := PROGRESS_LINE.match(line))]
    partial = sorted({percent for percent in shown if 0 < percent < 100})
    assert len(partial) >= 2, f"percentages shown: {shown}\n" + "\n".join(lines)
    assert shown == sorted(shown), "the percentage never goes back"
    assert any(line.startswith("sync succeeded") for line in lines)


def _lines(process: subprocess.Popen[str]) -> list[str]:
    assert process.stdout is not None
    return [line.rstrip("\n") for line in process.stdout]


def _running_row(cli: Cli, namespace: str) -> dict[str, object] | None:
    rows = json.loads(cli("status", "-n", namespace, "-o", "json").stdout)
    row = rows[0] if rows else {}
    progress = row.get("progress") or {}
    return row if progress.get("percent") is not None else None
