"""A source asks for restore drills with annotations; a wrong one is named, never half-applied."""

import datetime
import json

import pytest

from pyvolsync import contract
from pyvolsync.movers import drillsettings


def source(**annotations: str) -> dict[str, object]:
    return {"metadata": {"name": "nextcloud", "annotations": annotations}}


def test_no_annotation_means_no_drill() -> None:
    wanted = drillsettings.settings_of(source())
    assert not wanted.wanted and wanted.problem == ""


def test_a_weekly_drill_with_checks_reaches_the_mover_as_its_variables() -> None:
    wanted = drillsettings.settings_of(
        source(**{
            drillsettings.SCHEDULE_ANNOTATION: "0 4 * * 0",
            drillsettings.PATHS_ANNOTATION: "config/config.php, /data/nextcloud.db",
            drillsettings.MIN_SIZE_ANNOTATION: "100Mi",
            drillsettings.IMAGE_ANNOTATION: "keinos/sqlite3:3.46.1",
            drillsettings.COMMAND_ANNOTATION: "sqlite3 /data/nextcloud.db 'PRAGMA integrity_check'",
        })
    )  # fmt: skip

    assert wanted.wanted and wanted.problem == ""
    assert wanted.schedule == "0 4 * * 0"
    assert wanted.image == "keinos/sqlite3:3.46.1"
    environment = wanted.environment()
    assert json.loads(environment[contract.EnvVar.PATHS]) == [
        "/config/config.php",
        "/data/nextcloud.db",
    ]
    assert environment[contract.EnvVar.VERIFY_MIN_BYTES] == str(100 * 1024 * 1024)


def test_drill_now_alone_asks_for_one_drill() -> None:
    wanted = drillsettings.settings_of(source(**{drillsettings.NOW_ANNOTATION: "before-upgrade"}))
    assert wanted.wanted and wanted.now == "before-upgrade" and wanted.schedule == ""
    assert wanted.environment() == {}


@pytest.mark.parametrize(
    ("annotations", "named"),
    [
        ({drillsettings.SCHEDULE_ANNOTATION: "every sunday"}, drillsettings.SCHEDULE_ANNOTATION),
        ({drillsettings.MIN_SIZE_ANNOTATION: "a lot"}, drillsettings.MIN_SIZE_ANNOTATION),
        ({drillsettings.IMAGE_ANNOTATION: "alpine"}, drillsettings.COMMAND_ANNOTATION),
        ({drillsettings.COMMAND_ANNOTATION: "true"}, drillsettings.IMAGE_ANNOTATION),
        ({drillsettings.PATHS_ANNOTATION: "../etc/passwd"}, drillsettings.PATHS_ANNOTATION),
        ({"pyvolsync.dev/drill-schedul": "0 4 * * 0"}, "pyvolsync.dev/drill-schedul"),
        ({drillsettings.TIMEOUT_ANNOTATION: "forever"}, drillsettings.TIMEOUT_ANNOTATION),
        ({drillsettings.TIMEOUT_ANNOTATION: "30s"}, drillsettings.TIMEOUT_ANNOTATION),
    ],
)
def test_a_wrong_setting_turns_the_drill_off_and_names_the_annotation(
    annotations: dict[str, str], named: str
) -> None:
    wanted = drillsettings.settings_of(source(**{drillsettings.NOW_ANNOTATION: "x", **annotations}))
    assert not wanted.wanted
    assert named in wanted.problem


def test_a_drill_is_stopped_after_six_hours_unless_told_otherwise() -> None:
    default = drillsettings.settings_of(source(**{drillsettings.NOW_ANNOTATION: "x"}))
    assert default.timeout == datetime.timedelta(hours=6)
    told = drillsettings.settings_of(
        source(**{drillsettings.NOW_ANNOTATION: "x", drillsettings.TIMEOUT_ANNOTATION: "20m"})
    )
    assert told.timeout == datetime.timedelta(minutes=20)


def test_the_job_and_claim_name_fit_kubernetes_limits() -> None:
    assert drillsettings.drill_name("app") == "volsync-drill-app"
    assert len(drillsettings.drill_name("a" * 80)) <= 63
