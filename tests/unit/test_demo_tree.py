"""Manifests decide whether the demo and the benchmark call a restore identical, so they must
notice every kind of difference a user would care about, and nothing else."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from demo import sampledata, tree


def build(root: Path) -> Path:
    root.mkdir()
    sampledata.write_app_volume(root, seed=7)
    return root


def test_a_faithful_copy_has_the_same_digest(tmp_path: Path) -> None:
    original = build(tmp_path / "original")
    copy = tmp_path / "copy"
    shutil.copytree(original, copy, symlinks=True)

    assert tree.digest(tree.manifest(copy)) == tree.digest(tree.manifest(original))
    assert tree.difference(tree.manifest(original), tree.manifest(copy)).empty


def test_each_kind_of_damage_changes_the_digest_and_names_the_path(tmp_path: Path) -> None:
    original = tree.manifest(build(tmp_path / "volume"))
    root = tmp_path / "volume"
    page = root / "db" / "base" / "16384" / "2600"
    content = bytearray(page.read_bytes())
    content[100] ^= 1
    stamp = page.stat()
    page.write_bytes(bytes(content))
    os.utime(page, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    (root / "config" / "pre-backup.sh").chmod(0o644)
    (root / "config" / "current.toml").unlink()
    (root / "config" / "current.toml").symlink_to("pre-backup.sh")
    os.utime(root / "i18n" / "日本語.json", (1, 1))

    damaged = tree.manifest(root)

    assert tree.digest(damaged) != tree.digest(original)
    assert tree.difference(original, damaged).changed == {
        "db/base/16384/2600",
        "config/pre-backup.sh",
        "config/current.toml",
        "i18n/日本語.json",
    }


def test_difference_lists_added_and_removed_paths(tmp_path: Path) -> None:
    root = build(tmp_path / "volume")
    before = tree.manifest(root)
    (root / "tmp" / "new").write_text("x")
    shutil.rmtree(root / "logs")

    found = tree.difference(before, tree.manifest(root))

    assert found.added == {"tmp/new"}
    assert "logs" in found.removed
    assert "logs/app-2026-11-30.log" in found.removed
    assert not found.changed


def test_the_sample_volume_is_the_same_on_every_build(tmp_path: Path) -> None:
    first = tree.manifest(build(tmp_path / "first"))
    second = tree.manifest(build(tmp_path / "second"))

    assert tree.digest(first) == tree.digest(second)
    assert len([entry for entry in first.values() if entry.kind == "file"]) > 250
    assert {entry.kind for entry in first.values()} == {"file", "directory", "symlink"}
    assert any(not path.isascii() for path in first)


def test_the_demo_change_is_exactly_what_it_reports(tmp_path: Path) -> None:
    root = build(tmp_path / "volume")
    before = tree.manifest(root)

    change = sampledata.apply_change(root, seed=7)

    found = tree.difference(before, tree.manifest(root))
    assert (found.added, found.removed, found.changed) == (
        change.added,
        change.removed,
        change.changed,
    )
