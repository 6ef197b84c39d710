"""The fork's environment contract: each malformed value named, identities mandatory, extra
arguments split only on whole separators."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from pyvolsync.inpod import errors
from pyvolsync.inpod.kopia import commands, config


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    return {
        "DATA_DIR": str(tmp_path),
        "KOPIA_REPOSITORY": "filesystem:///repo",
        "KOPIA_PASSWORD": "pw",
        "KOPIA_CACHE_DIR": "/cache",
        "KOPIA_OVERRIDE_USERNAME": "app",
        "KOPIA_OVERRIDE_HOSTNAME": "ns",
    }


def test_the_fork_variables_are_read(environ: dict[str, str]) -> None:
    environ |= {
        "KOPIA_SOURCE_PATH_OVERRIDE": "/data",
        "KOPIA_RETAIN_LATEST": "3",
        "KOPIA_RETAIN_YEARLY": "1",
        "KOPIA_RESTORE_AS_OF": "2024-05-01T13:30:00+02:00",
        "KOPIA_PREVIOUS": "1",
        "KOPIA_ENABLE_FILE_DELETION": "true",
        "KOPIA_METADATA_CACHE_SIZE_LIMIT_MB": "100",
    }

    settings = config.from_environ(environ)

    assert settings.target == "app@ns:/data"
    assert settings.retention == ("--keep-latest=3", "--keep-annual=1")
    assert settings.restore_as_of == datetime.datetime(2024, 5, 1, 11, 30, tzinfo=datetime.UTC)
    assert (settings.previous, settings.delete_extra) == (1, True)
    assert settings.maintenance_identity == settings.identity


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KOPIA_OVERRIDE_USERNAME", ""),
        ("KOPIA_OVERRIDE_HOSTNAME", "-bad"),
        ("KOPIA_RETAIN_DAILY", "-1"),
        ("KOPIA_PARALLELISM", "0"),
        ("KOPIA_RESTORE_AS_OF", "2024-05-01 13:30"),
        ("KOPIA_SOURCE_PATH_OVERRIDE", "data"),
        ("KOPIA_ENABLE_FILE_DELETION", "maybe"),
        ("KOPIA_MAINTENANCE_OWNER", "nobody"),
        ("KOPIA_PASSWORD", ""),
    ],
)
def test_a_bad_value_is_named(environ: dict[str, str], name: str, value: str) -> None:
    environ[name] = value

    with pytest.raises(errors.ConfigurationError, match=name):
        config.from_environ(environ)


@pytest.mark.parametrize(
    ("text", "arguments"),
    [
        ('["--tags", "team:a b", "--description=x"]', ("--tags", "team:a b", "--description=x")),
        ("--tags|VOLSYNC_ARG_SEP|team:a|b", ("--tags", "team:a|b")),
        ("", ()),
    ],
)
def test_additional_arguments_keep_each_element_whole(
    text: str, arguments: tuple[str, ...]
) -> None:
    assert config.parse_additional_arguments(text) == arguments


def test_additional_arguments_reach_only_the_snapshot(environ: dict[str, str]) -> None:
    environ["KOPIA_ADDITIONAL_ARGS"] = '["--description", "x"]'
    settings = config.from_environ(environ)

    assert commands.snapshot(settings)[-2:] == ("--description", "x")
    assert "--description" not in commands.policy(settings)
    assert commands.restore("id", settings) == (
        "snapshot", "restore", "id", ".", "--progress", "--write-files-atomically"
    )  # fmt: skip
