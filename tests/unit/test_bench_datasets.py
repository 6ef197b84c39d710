"""The benchmark's data sets: the size, file count and mix asked for, cached between runs."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
from bench import datasets
from demo import tree


def files_of(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_a_data_set_has_the_files_and_bytes_asked_for_half_of_them_incompressible(
    tmp_path: Path,
) -> None:
    dataset = datasets.ensure(total_bytes=3_000_000, files=201, cache=tmp_path)

    files = files_of(dataset.tree)
    assert len(files) == 201
    assert sum(path.stat().st_size for path in files) == 3_000_000
    random_bytes = b"".join(path.read_bytes() for path in files if path.suffix == ".bin")
    text_bytes = b"".join(path.read_bytes() for path in files if path.suffix == ".log")
    assert len(random_bytes) == 1_500_000
    assert len(zlib.compress(random_bytes)) > 0.99 * len(random_bytes)
    assert len(zlib.compress(text_bytes)) < 0.5 * len(text_bytes)
    assert len({path.parent for path in files}) > 2
    assert dataset.digest == tree.digest(tree.manifest(dataset.tree))


def test_a_cached_data_set_is_reused(tmp_path: Path) -> None:
    first = datasets.ensure(total_bytes=100_000, files=30, cache=tmp_path)
    marker = first.tree / "marker"
    marker.write_text("still here")

    second = datasets.ensure(total_bytes=100_000, files=30, cache=tmp_path)

    assert second.root == first.root
    assert marker.read_text() == "still here"


def test_an_incomplete_cache_is_generated_again(tmp_path: Path) -> None:
    first = datasets.ensure(total_bytes=100_000, files=30, cache=tmp_path)
    first.tree.rename(tmp_path / "moved-away")

    second = datasets.ensure(total_bytes=100_000, files=30, cache=tmp_path)

    assert len(files_of(second.tree)) == 30
    assert not (tmp_path / (first.root.name + ".partial")).exists()


@pytest.mark.parametrize(
    ("text", "size"),
    [("1G", 1 << 30), ("50M", 50 << 20), ("512KiB", 512 << 10), ("1000", 1000), ("1.5g", 3 << 29)],
)
def test_sizes_are_read_in_binary_units(text: str, size: int) -> None:
    assert datasets.parse_size(text) == size


def test_a_size_without_a_number_is_refused() -> None:
    with pytest.raises(ValueError, match="not a size"):
        datasets.parse_size("big")
