"""`pyvolsync ls`, `cat`, `download`, `find` and `diff` against the local cluster, the real
operator and real restic and kopia: one file back from an older snapshot, byte for byte, with
the names that break tools, and every mistake one line that changes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
from typing import Any

from localcluster import controlplane
from localcluster.testing import apply
from tests.integration.cli.conftest import NFS, Cli
from tests.integration.cli.test_cli_commands import PASSWORD, SOURCE, kopia_source
from tests.integration.reconcile import helpers

AWKWARD = (
    "mkdir -p '/data/sub dir' && printf 'version 1\\n' > '/data/sub dir/config.ini' && "
    "printf unicode > '/data/ünïcødé-文件.txt' && "
    "printf nl > \"/data/$(printf 'line\\nbreak.txt')\" && "
    "ln -s 'sub dir/config.ini' /data/link && head -c 3000000 /dev/urandom > /data/big.bin && "
    "ln /data/big.bin /data/hardlink.bin && truncate -s 1M /data/sparse.img && "
    "printf '#!/bin/sh\\n' > /data/run.sh && chmod 755 /data/run.sh && "
    "md5sum /data/big.bin"
)
NEWLINE = "line\nbreak.txt"


def _awkward_source(cluster: controlplane.ControlPlane, namespace: str) -> str:
    """Create volume `data` with the awkward tree and source `app`; return big.bin's MD5."""
    apply(
        cluster,
        helpers.repository_secret("repo", path=f"{namespace}/app", password=PASSWORD),
        helpers.claim("data"),
        namespace=namespace,
    )
    printed = helpers.run_shell(cluster, namespace, "write", claim_name="data", script=AWKWARD)
    source = helpers.replication_source("app", copy_method="Direct", retain={"last": "10"})
    apply(cluster, source, namespace=namespace)
    helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "first")
    return printed.split()[0]


def _json(cli: Cli, *arguments: str) -> Any:
    done = cli(*arguments, "-o", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_one_file_back_from_an_older_restic_snapshot_byte_for_byte(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: object,
    cli: Cli,
    tmp_path: pathlib.Path,
) -> None:
    big_md5 = _awkward_source(cluster, namespace)
    helpers.run_shell(
        cluster, namespace, "change", claim_name="data",
        script="printf 'version 2\\n' > '/data/sub dir/config.ini' && rm /data/run.sh",
    )  # fmt: skip
    assert cli("sync", "app", "-n", namespace, "--wait").returncode == 0
    where = ["-n", namespace, "--repository-nfs", NFS]
    first, second = (row["id"] for row in _json(cli, "snapshots", "app", *where))

    listed = _json(cli, "ls", "app", "/", "--snapshot", first, *where)
    table = cli("ls", "app", "--snapshot", first, *where)
    cat = cli("cat", "app", "/sub dir/config.ini", "--snapshot", first, *where)
    newest = cli("cat", "app", "/sub dir/config.ini", *where)
    download = cli(
        "download", "app", "/sub dir", "/big.bin", "/sparse.img", f"/{NEWLINE}", "/link",
        "--snapshot", first, "--to", str(tmp_path / "recovered"), *where,
    )  # fmt: skip

    names = {row["path"]: row for row in listed}
    assert {"/sub dir", "/ünïcødé-文件.txt", f"/{NEWLINE}", "/link", "/run.sh"} <= set(names)
    assert names["/run.sh"]["mode"] == "-rwxr-xr-x" and names["/big.bin"]["size"] == 3000000
    assert table.returncode == 0 and f"in snapshot {first} of app" in table.stdout, table
    assert "line\\nbreak.txt" in table.stdout, "a newline in a name is shown escaped"
    assert "/link -> sub dir/config.ini" in table.stdout, "a link shows its target"
    assert (cat.returncode, cat.stdout) == (0, "version 1\n"), cat.stderr
    assert newest.stdout == "version 2\n"
    assert download.returncode == 0, download.stdout + download.stderr
    recovered = tmp_path / "recovered"
    assert hashlib.md5((recovered / "big.bin").read_bytes()).hexdigest() == big_md5
    assert (recovered / "sub dir" / "config.ini").read_text() == "version 1\n"
    assert (recovered / "sparse.img").read_bytes() == bytes(1024 * 1024)
    assert (recovered / NEWLINE).read_text() == "nl"
    assert os.readlink(recovered / "link") == "sub dir/config.ini"
    jobs = cluster.kubectl("get", "jobs", "-n", namespace, "-o", "name").stdout
    assert "pyvolsync-" not in jobs, "every browsing Job is deleted afterwards"

    found = _json(cli, "find", "app", "config.ini", *where)
    assert [(row["snapshot"][:8], row["path"]) for row in found] == [
        (second, "/sub dir/config.ini"), (first, "/sub dir/config.ini")
    ]  # fmt: skip
    changed = _json(cli, "diff", "app", first, second, *where)
    assert [(row["change"], row["path"]) for row in changed] == [
        ("removed", "/run.sh"), ("modified", "/sub dir/config.ini")
    ]  # fmt: skip


def test_browsing_mistakes_are_one_line_and_change_nothing(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: object,
    cli: Cli,
    tmp_path: pathlib.Path,
) -> None:
    _awkward_source(cluster, namespace)
    where = ["-n", namespace, "--repository-nfs", NFS]
    existing = tmp_path / "exists"
    existing.mkdir()

    missing = cli("cat", "app", "/sub dir/confg.ini", *where)
    folder = cli("cat", "app", "/sub dir", *where)
    unknown = cli("ls", "app", "--snapshot", "0000", *where)
    both = cli("ls", "app", "--snapshot", "abcd", "--as-of", "2026-01-01T00:00:00Z", *where)
    into_existing = cli("download", "app", "/big.bin", "--to", str(existing), *where)
    too_early = cli("ls", "app", "--as-of", "2001-01-01T00:00:00Z", *where)

    assert missing.returncode == 2, missing
    assert "has no /sub dir/confg.ini; the closest in /sub dir: /sub dir/config.ini" in (
        missing.stderr.replace("\n", " ")
    )
    assert folder.returncode == 2 and "is a folder" in folder.stderr, folder
    assert unknown.returncode == 2 and "no snapshot ID begins with '0000'" in unknown.stderr
    assert both.returncode == 2 and "not both" in both.stderr, both
    assert into_existing.returncode == 2 and "exists already" in into_existing.stderr
    assert not any(existing.iterdir()), "nothing was written into the existing folder"
    assert too_early.returncode == 2 and "no snapshot at or before" in too_early.stderr
    assert missing.stdout == "", "nothing is printed as content"


def test_kopia_snapshots_are_browsed_with_the_same_commands(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: object,
    cli: Cli,
    tmp_path: pathlib.Path,
) -> None:
    kopia_source(cluster, namespace, password="kopia-browse-password")
    helpers.wait_for_manual_sync(cluster, SOURCE, "web", namespace, "first")
    blob_md5 = helpers.run_shell(
        cluster, namespace, "sum", claim_name="data", script="md5sum /data/dir/blob"
    ).split()[0]
    where = ["-n", namespace, "--repository-nfs", NFS]

    listed = _json(cli, "ls", "web", "/", *where)
    cat = cli("cat", "web", "/hello.txt", *where)
    download = cli("download", "web", "/dir", "--to", str(tmp_path / "got"), *where)

    assert {row["path"] for row in listed} >= {"/hello.txt", "/dir", "/link"}
    assert (cat.returncode, cat.stdout) == (0, "hello\n"), cat.stderr
    assert download.returncode == 0, download.stdout + download.stderr
    blob = (tmp_path / "got" / "dir" / "blob").read_bytes()
    assert hashlib.md5(blob).hexdigest() == blob_md5
    assert (tmp_path / "got" / "dir" / "deeper" / "marker").read_text() == "1\n"
