"""The hook annotations a user writes, and what pyvolsync makes of them (no cluster needed)."""

from __future__ import annotations

import datetime

import pytest

from pyvolsync.movers import hooksettings
from pyvolsync.movers.hooksettings import Kind, Moment, OnError


def source(**annotations: str) -> dict[str, object]:
    return {"metadata": {"name": "app", "annotations": annotations}}


def before(**keys: str) -> dict[str, str]:
    return {f"pyvolsync.dev/before-backup-{key}": value for key, value in keys.items()}


def after(**keys: str) -> dict[str, str]:
    return {f"pyvolsync.dev/after-backup-{key}": value for key, value in keys.items()}


def test_no_annotations_no_hooks() -> None:
    assert hooksettings.settings_of({"metadata": {}}) == hooksettings.Settings()


def test_a_command_alone_runs_in_the_app_pod_under_a_shell_and_stops_the_backup_on_error() -> None:
    settings = hooksettings.settings_of(source(**before(command="sqlite3 /data/app.db .dump")))
    hook = settings.before
    assert hook is not None and settings.after is None and not settings.problem
    assert hook.kind is Kind.EXEC
    assert hook.command == ("/bin/sh", "-c", "sqlite3 /data/app.db .dump")
    assert hook.timeout == datetime.timedelta(minutes=2)
    assert hook.on_error is OnError.FAIL
    assert hook.title == "before-backup hook (exec)"


def test_a_json_list_is_the_argument_vector_and_labels_pick_the_pod() -> None:
    hook = hooksettings.settings_of(
        source(
            **before(
                command='["sqlite3", "/data/app.db", ".backup /data/app.db.bak"]',
                pod="app=db, tier=data",
                container="db",
                timeout="30s",
                **{"on-error": "Continue"},
            )
        )
    ).before
    assert hook is not None
    assert hook.command == ("sqlite3", "/data/app.db", ".backup /data/app.db.bak")
    assert hook.pod_selector == (("app", "db"), ("tier", "data"))
    assert (hook.container, hook.timeout) == ("db", datetime.timedelta(seconds=30))
    assert hook.on_error is OnError.CONTINUE


def test_an_image_makes_a_job_hook_and_a_url_a_call() -> None:
    settings = hooksettings.settings_of(
        source(
            **before(image="postgres:17", command="pg_dump", **{"service-account": "dumper"}),
            **after(url="http://hooks.apps.svc:8080/resume"),
        )
    )
    assert settings.before is not None and settings.before.kind is Kind.JOB
    assert settings.before.service_account == "dumper"
    assert settings.after is not None and settings.after.kind is Kind.URL
    assert settings.after.moment is Moment.AFTER
    assert settings.after.on_error is OnError.CONTINUE


@pytest.mark.parametrize(
    ("annotations", "named"),
    [
        (before(command='["sqlite3", 1]'), "pyvolsync.dev/before-backup-command"),
        (before(command="[not json"), "pyvolsync.dev/before-backup-command"),
        (before(command="true", timeout="soon"), "pyvolsync.dev/before-backup-timeout"),
        (before(command="true", timeout="3h"), "pyvolsync.dev/before-backup-timeout"),
        (before(command="true", **{"on-error": "ignore"}), "pyvolsync.dev/before-backup-on-error"),
        (after(command="true", **{"on-error": "fail"}), "pyvolsync.dev/after-backup-on-error"),
        (before(command="true", pod="app"), "pyvolsync.dev/before-backup-pod"),
        (before(url="ftp://x"), "pyvolsync.dev/before-backup-url"),
        (before(url="http://x", command="true"), "pyvolsync.dev/before-backup-command"),
        (before(image="busybox", pod="app=db"), "pyvolsync.dev/before-backup-pod"),
        (before(command="true", **{"service-account": "x"}), "before-backup-service-account"),
        (before(container="db"), "pyvolsync.dev/before-backup-command"),
        (before(command="true", commnad="x"), "pyvolsync.dev/before-backup-commnad"),
    ],
)
def test_a_malformed_hook_is_left_out_and_its_annotation_named(
    annotations: dict[str, str], named: str
) -> None:
    settings = hooksettings.settings_of(source(**annotations))
    assert settings.before is None and settings.after is None
    assert named in settings.problem


def test_a_broken_before_hook_leaves_a_good_after_hook() -> None:
    settings = hooksettings.settings_of(
        source(**before(command="true", timeout="x"), **after(command="true"))
    )
    assert settings.before is None and settings.after is not None
    assert "before-backup-timeout" in settings.problem


def test_the_hook_job_name_fits_a_job_name() -> None:
    assert hooksettings.hook_job_name("app") == "volsync-hook-app"
    assert len(hooksettings.hook_job_name("a" * 253)) == 63
