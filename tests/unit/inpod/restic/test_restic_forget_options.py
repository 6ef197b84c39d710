"""FORGET_OPTIONS is validated flag by flag; only upstream's --keep-* flags get through."""

import pytest

from pyvolsync.inpod import errors
from pyvolsync.inpod.restic import retention


def test_upstream_generated_options_become_flag_value_pairs() -> None:
    text = "--keep-hourly 6 --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --keep-yearly 2"

    assert retention.parse_forget_options(text) == (
        "--keep-hourly",
        "6",
        "--keep-daily",
        "7",
        "--keep-weekly",
        "4",
        "--keep-monthly",
        "12",
        "--keep-yearly",
        "2",
    )


def test_equals_form_and_durations_are_accepted() -> None:
    text = "--keep-last=5 --keep-within 2y5m7d3h --keep-within-daily=30d"

    assert retention.parse_forget_options(text) == (
        "--keep-last",
        "5",
        "--keep-within",
        "2y5m7d3h",
        "--keep-within-daily",
        "30d",
    )


def test_empty_options_mean_no_forget() -> None:
    assert retention.parse_forget_options("  ") == ()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("--keep-last 5 --prune", "'--prune'"),
        ("--keep-last 5; rm -rf /", "'5;'"),
        ("--keep-tag important", "'--keep-tag'"),
        ("--keep-last -1", "'-1'"),
        ("--keep-daily=seven", "'seven'"),
        ("--keep-within 1w", "'1w'"),
        ("--keep-within=", "''"),
        ("--keep-last", "missing its value"),
        ("keep-last 3", "'keep-last'"),
        ("--dry-run --keep-last 3", "'--dry-run'"),
    ],
)
def test_anything_else_is_rejected_naming_the_token(text: str, named: str) -> None:
    with pytest.raises(errors.ConfigurationError) as raised:
        retention.parse_forget_options(text)

    assert "FORGET_OPTIONS" in raised.value.message
    assert named in raised.value.message
