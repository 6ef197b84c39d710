"""Flux's substitution rules as `pyvolsync render-component` applies them."""

from __future__ import annotations

import pytest

from pyvolsync.cli import envsubst


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("name: ${APP}", {"APP": "web"}, "name: web"),
        ("${APP}-volsync-secret", {"APP": "web"}, "web-volsync-secret"),
        ("${A}${B}", {"A": "x", "B": "y"}, "xy"),
        ("size: ${SIZE:=1Gi}", {}, "size: 1Gi"),
        ("size: ${SIZE:=1Gi}", {"SIZE": "5Gi"}, "size: 5Gi"),
        ("size: ${SIZE:-1Gi}", {}, "size: 1Gi"),
        ("size: ${SIZE=1Gi}", {"SIZE": "2Gi"}, "size: 2Gi"),
        ("size: ${SIZE-1Gi}", {}, "size: 1Gi"),
        # Flux treats an empty value like an unset one for every default form.
        ("size: ${SIZE:=1Gi}", {"SIZE": ""}, "size: 1Gi"),
        ("size: ${SIZE-1Gi}", {"SIZE": ""}, "size: 1Gi"),
        # An empty value without a default is a value.
        ("x${EMPTY}y", {"EMPTY": ""}, "xy"),
        # Nested defaults: the claim defaults to the app's name.
        ("${CLAIM:=${APP}}", {"APP": "web"}, "web"),
        ("${CLAIM:=${APP}}", {"APP": "web", "CLAIM": "web-data"}, "web-data"),
        ("${CLAIM:=${APP}-data}", {"APP": "web"}, "web-data"),
        ("${A:=${B:=${C:=deep}}}", {}, "deep"),
        ("${MODES:=Read Write Once}", {}, "Read Write Once"),
        ("${EMPTY_DEFAULT:=}", {}, ""),
        # Escapes: $$ is one dollar and starts no expression.
        ("$${APP}", {"APP": "web"}, "${APP}"),
        ("cost: $$5", {}, "cost: $5"),
        ("$${APP} and ${APP}", {"APP": "web"}, "${APP} and web"),
        ("${X:=a$$b}", {}, "a$b"),
        (r"${X:=a\/b\\c}", {}, "a/b\\c"),
        # Flux expands only the braced form; a lone $ stays.
        ("echo $HOME $ {x} $", {}, "echo $HOME $ {x} $"),
        ("{{ .RESTIC_PASSWORD }}", {}, "{{ .RESTIC_PASSWORD }}"),
        ("schedule: 0 * * * *", {}, "schedule: 0 * * * *"),
        ("", {}, ""),
    ],
)
def test_substitutes_like_flux(text: str, variables: dict[str, str], expected: str) -> None:
    assert envsubst.substitute(text, variables) == expected


def test_a_multiline_document_keeps_its_layout() -> None:
    text = "metadata:\n  name: ${APP}\nspec:\n  uid: ${UID:=4000}\n"
    assert envsubst.substitute(text, {"APP": "web"}) == (
        "metadata:\n  name: web\nspec:\n  uid: 4000\n"
    )


def test_unset_variables_without_default_are_named_together() -> None:
    with pytest.raises(envsubst.SubstitutionError) as raised:
        envsubst.substitute("${APP} ${ZONE} ${APP} ${OK:=1}", {})
    assert str(raised.value) == "variables without a value or a default: APP, ZONE"


def test_an_unset_variable_nested_in_a_default_is_an_error() -> None:
    with pytest.raises(envsubst.SubstitutionError, match="APP"):
        envsubst.substitute("${CLAIM:=${APP}}", {})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a\nname: ${APP", "missing closing brace in '${APP' (line 2)"),
        ("${APP:=web", "missing closing brace"),
        ("${}", "bad substitution '${}' (line 1)"),
        ("${1APP}", "bad substitution"),
        ("${APP^^}", "unsupported substitution '${APP^^}'"),
        ("${#APP}", "bad substitution"),
        ("${APP/a/b}", "unsupported substitution"),
        ("${APP:?required}", "unsupported substitution"),
        ("${APP:+set}", "unsupported substitution"),
    ],
)
def test_malformed_or_unsupported_expressions_are_refused(text: str, message: str) -> None:
    with pytest.raises(envsubst.SubstitutionError) as raised:
        envsubst.substitute(text, {"APP": "web"})
    assert message in str(raised.value)


@pytest.mark.parametrize("name", ["bad-name", "1st", "", "a.b"])
def test_variable_names_follow_flux(name: str) -> None:
    with pytest.raises(envsubst.SubstitutionError, match="is not a variable name"):
        envsubst.substitute("x", {name: "v"})


def test_values_are_inserted_literally() -> None:
    """A value is not substituted again, so a value with ${...} in it survives."""
    assert envsubst.substitute("${A}", {"A": "${B}", "B": "no"}) == "${B}"
