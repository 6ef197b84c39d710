"""Secrets from the environment never survive masking, wherever restic puts them."""

import logging

import pytest

from pyvolsync.inpod import masking

ENVIRON = {
    "RESTIC_PASSWORD": "correct horse battery",
    "RESTIC_REPOSITORY": "rest:https://backup:s3cr3t-url-pw@backup.example:8000/repo",
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEYID",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG",
    "RESTIC_PASSWORD_FILE": "/secrets/password",
    "DATA_DIR": "/data",
}


@pytest.mark.parametrize(
    "secret",
    ["correct horse battery", "s3cr3t-url-pw", "AKIAEXAMPLEKEYID", "wJalrXUtnFEMI/K7MDENG"],
)
def test_every_secret_is_masked(secret: str) -> None:
    mask = masking.Masker.from_environ(ENVIRON)

    assert secret not in mask(f"Fatal: something about {secret} went wrong")


def test_url_credentials_are_masked_even_when_not_in_the_environment() -> None:
    mask = masking.Masker([])

    assert (
        mask("Head s3:https://user:other-pw@host/bucket") == "Head s3:https://user:***@host/bucket"
    )


def test_paths_and_the_repository_location_stay_readable() -> None:
    mask = masking.Masker.from_environ(ENVIRON)

    text = mask(
        "restore /secrets/password into /data from rest:https://backup:s3cr3t-url-pw@backup.example:8000/repo"
    )

    assert (
        text
        == "restore /secrets/password into /data from rest:https://backup:***@backup.example:8000/repo"
    )


def test_log_records_are_masked_after_formatting(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("pyvolsync.test.masking")
    caplog.handler.addFilter(masking.MaskingFilter(masking.Masker.from_environ(ENVIRON)))

    with caplog.at_level(logging.INFO):
        logger.info("password is %s", "correct horse battery")

    assert caplog.messages == ["password is ***"]


def test_a_short_secret_is_masked_as_a_word_but_not_inside_words() -> None:
    mask = masking.Masker(["x1"])

    assert mask("loading indexes with x1 and key=x1.") == "loading indexes with *** and key=***."
    assert mask("ax1b") == "ax1b"
