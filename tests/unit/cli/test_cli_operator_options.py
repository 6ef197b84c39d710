"""`pyvolsync operator` refuses a volume timeout that is not a positive duration, before it
connects to any cluster, and says which option is wrong."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pyvolsync.cli import main


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
