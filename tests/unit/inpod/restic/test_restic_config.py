"""The environment contract: mandatory variables, and every malformed value named in the error."""

import datetime
import logging
from pathlib import Path

import pytest

from pyvolsync.inpod import errors
from pyvolsync.inpod.restic import config


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    return {
        "DATA_DIR": str(tmp_path),
        "RESTIC_REPOSITORY": "/repo",
        "RESTIC_PASSWORD": "pw",
        "RESTIC_CACHE_DIR": "/cache",
        "PRIVILEGED_MOVER": "0",
    }


def test_upstream_variables_are_read(environ: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----")
    environ |= {
        "FORGET_OPTIONS": "--keep-last 3",
        "RESTORE_AS_OF": "2024-05-01T10:00:00Z",
        "SELECT_PREVIOUS": "2",
        "RESTORE_OPTIONS": "--delete",
        "CUSTOM_CA": str(tmp_path / "ca.crt"),
        "CHECK_READ_DATA_SUBSET": "1/5",
        "PYVOLSYNC_SOURCE": "shop/db.primary",
    }

    settings = config.from_environ(environ)

    assert settings.data_dir == str(tmp_path)
    assert settings.forget_flags == ("--keep-last", "3")
    assert settings.restore_as_of == datetime.datetime(2024, 5, 1, 10, tzinfo=datetime.UTC)
    assert settings.select_previous == 2
    assert settings.restore_delete is True
    assert settings.custom_ca == str(tmp_path / "ca.crt")
    assert settings.check_read_data_subset == "1/5"
    assert settings.source == "shop/db.primary"


def test_defaults_suit_a_pod(environ: dict[str, str]) -> None:
    settings = config.from_environ(environ)

    assert settings.progress_interval == 10
    assert settings.probe_timeout == 60
    assert settings.forget_flags == ()
    assert settings.restore_delete is False


@pytest.mark.parametrize(
    "name", ["DATA_DIR", "RESTIC_REPOSITORY", "RESTIC_PASSWORD", "RESTIC_CACHE_DIR"]
)
def test_a_missing_mandatory_variable_is_named(environ: dict[str, str], name: str) -> None:
    del environ[name]

    with pytest.raises(errors.ConfigurationError, match=name):
        config.from_environ(environ)


def test_privileged_mover_may_be_absent_with_a_warning(
    environ: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    del environ["PRIVILEGED_MOVER"]

    with caplog.at_level(logging.WARNING):
        config.from_environ(environ)

    assert "PRIVILEGED_MOVER" in caplog.text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATA_DIR", "relative/path"),
        ("DATA_DIR", "/no/such/directory"),
        ("RESTORE_AS_OF", "last tuesday"),
        ("SELECT_PREVIOUS", "-1"),
        ("SELECT_PREVIOUS", "two"),
        ("RESTORE_OPTIONS", "--delete --overwrite never"),
        ("CHECK_READ_DATA_SUBSET", "6/5"),
        ("CHECK_READ_DATA_SUBSET", "0%"),
        ("CHECK_READ_DATA_SUBSET", "everything"),
        ("PYVOLSYNC_PROGRESS_INTERVAL", "soon"),
        ("PYVOLSYNC_PROBE_TIMEOUT", "-5"),
        ("FORGET_OPTIONS", "--keep-last 3 --prune"),
        ("CUSTOM_CA", "/no/such/ca.crt"),
        ("PYVOLSYNC_SOURCE", "no-slash"),
        ("PYVOLSYNC_SOURCE", "shop/db,other"),
    ],
)
def test_a_malformed_value_is_named(environ: dict[str, str], name: str, value: str) -> None:
    environ[name] = value

    with pytest.raises(errors.ConfigurationError, match=name):
        config.from_environ(environ)


@pytest.mark.parametrize("subset", ["1/5", "5/5", "10%", "2.5%", "500M", "1G"])
def test_check_subsets_in_restic_syntax_are_accepted(environ: dict[str, str], subset: str) -> None:
    environ["CHECK_READ_DATA_SUBSET"] = subset

    assert config.from_environ(environ).check_read_data_subset == subset
