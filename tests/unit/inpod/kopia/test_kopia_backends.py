"""Each repository kind becomes the right `kopia repository connect|create <kind>` arguments,
with credentials in kopia's environment variables rather than on the command line."""

from __future__ import annotations

import pytest

from pyvolsync.inpod import errors
from pyvolsync.inpod.kopia import backends


def _backend(
    scratch: str = "/run/x", custom_ca: str | None = None, **environ: str
) -> backends.Backend:
    return backends.backend_of(environ, custom_ca=custom_ca, scratch=scratch)


def test_filesystem() -> None:
    backend = _backend(KOPIA_REPOSITORY="filesystem:///mnt/repository/")

    assert backend.arguments == ("filesystem", "--path=/mnt/repository")
    assert backend.filesystem_path == "/mnt/repository"


@pytest.mark.parametrize("repository", ["filesystem://relative", "filesystem:///a/../b"])
def test_a_filesystem_path_must_be_absolute_and_plain(repository: str) -> None:
    with pytest.raises(errors.ConfigurationError, match="filesystem:///<absolute path>"):
        _backend(KOPIA_REPOSITORY=repository)


def test_s3_from_the_url_keeps_keys_off_the_command_line() -> None:
    backend = _backend(
        custom_ca="/ca.pem",
        KOPIA_REPOSITORY="s3://bucket/some//prefix",
        KOPIA_S3_ENDPOINT="http://minio:9000",
        AWS_ACCESS_KEY_ID="AKIA",
        AWS_SECRET_ACCESS_KEY="secret-key",
        AWS_REGION="eu-west-1",
    )

    assert backend.arguments == (
        "s3", "--bucket=bucket", "--prefix=some/prefix/", "--endpoint=minio:9000",
        "--region=eu-west-1", "--disable-tls", "--root-ca-pem-path=/ca.pem",
    )  # fmt: skip
    assert not any("secret-key" in argument for argument in backend.arguments)


def test_s3_bucket_key_wins_and_tls_stays_on_by_default() -> None:
    backend = _backend(KOPIA_REPOSITORY="s3://ignored", KOPIA_S3_BUCKET="named")

    assert backend.arguments == ("s3", "--bucket=named")


def test_b2_azure_and_webdav_credentials_go_to_kopia_variables() -> None:
    b2 = _backend(KOPIA_REPOSITORY="b2://x/p", KOPIA_B2_BUCKET="x", B2_ACCOUNT_ID="id",
                  B2_APPLICATION_KEY="key")  # fmt: skip
    azure = _backend(KOPIA_REPOSITORY="azure://c", KOPIA_AZURE_CONTAINER="c",
                     KOPIA_AZURE_STORAGE_ACCOUNT="acct", KOPIA_AZURE_STORAGE_KEY="key")  # fmt: skip
    webdav = _backend(KOPIA_REPOSITORY="webdav", WEBDAV_URL="https://dav/x", WEBDAV_USERNAME="u",
                      WEBDAV_PASSWORD="p")  # fmt: skip

    assert (b2.arguments, dict(b2.environ)) == (
        ("b2", "--bucket=x", "--prefix=p/"),
        {"B2_KEY_ID": "id", "B2_KEY": "key"},
    )
    assert (azure.arguments, dict(azure.environ)) == (
        ("azure", "--container=c"),
        {"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": "key"},
    )
    assert (webdav.arguments, dict(webdav.environ)) == (
        ("webdav", "--url=https://dav/x"),
        {"KOPIA_WEBDAV_USERNAME": "u", "KOPIA_WEBDAV_PASSWORD": "p"},
    )


def test_gcs_credentials_given_as_json_become_a_private_file() -> None:
    backend = _backend(KOPIA_REPOSITORY="gs://b", KOPIA_GCS_BUCKET="b",
                       GOOGLE_APPLICATION_CREDENTIALS='{"type": "service_account"}')  # fmt: skip

    assert backend.arguments == (
        "gcs",
        "--bucket=b",
        "--credentials-file=/run/x/gcs-credentials.json",
    )
    assert backend.files == {"/run/x/gcs-credentials.json": '{"type": "service_account"}'}


def test_sftp() -> None:
    backend = _backend(
        KOPIA_REPOSITORY="sftp",
        SFTP_HOST="h",
        SFTP_PORT="2222",
        SFTP_USERNAME="u",
        SFTP_PATH="/backups",
        SFTP_KEY_FILE="/keys/id",
        SFTP_KNOWN_HOSTS_DATA="h ssh-ed25519 AAAA",
    )

    assert backend.arguments == (
        "sftp", "--host=h", "--username=u", "--path=/backups", "--port=2222",
        "--keyfile=/keys/id", "--known-hosts-data=h ssh-ed25519 AAAA",
    )  # fmt: skip


def test_an_unknown_repository_names_the_keys_to_set() -> None:
    with pytest.raises(errors.ConfigurationError, match="KOPIA_S3_BUCKET"):
        _backend(KOPIA_REPOSITORY="rest:https://x")
