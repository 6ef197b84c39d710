"""`pyvolsync operator` refuses a volume timeout that is not a positive duration, and a check
subset its movers would refuse, before it connects to any cluster, and says which option is
wrong."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pyvolsync import contract
from pyvolsync.cli import main
from pyvolsync.inpod.restic import config


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0s", "must be longer than zero"),
        ("soon", "is not a duration"),
        ("-5m", "longer than zero"),
    ],
)
def test_a_volume_timeout_must_be_a_positive_duration(value: str, says: str) -> None:
    result = CliRunner().invoke(
        main.app, ["operator", "--kubeconfig", "/nonexistent", "--volume-timeout", value]
    )
    assert result.exit_code == 2
    assert "--volume-timeout" in result.output and says in result.output


@pytest.mark.parametrize("value", ["0/5", "6/5", "0%", "150%", "half", "5/"])
def test_a_check_subset_the_mover_would_refuse_is_refused_at_start(value: str) -> None:
    """The operator and the mover share one rule, so no Job is ever planned with a subset its
    mover rejects as invalid configuration."""
    result = CliRunner().invoke(
        main.app, ["operator", "--kubeconfig", "/nonexistent", "--check-read-data-subset", value]
    )
    assert result.exit_code == 2
    assert "--check-read-data-subset" in result.output and "must be n/t" in result.output


@pytest.mark.parametrize("value", ["1/5", "5/5", "10%", "2.5%", "100%", "500M"])
def test_the_operator_and_the_mover_accept_the_same_subsets(value: str) -> None:
    assert contract.valid_read_data_subset(value)
    environ = {contract.EnvVar.CHECK_READ_DATA_SUBSET: value}
    assert config._check_subset(environ) == value
