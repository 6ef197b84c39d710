"""The mover container's security context: locked down by default, upstream's root when opted in."""

from __future__ import annotations

from pyvolsync.planning import security


def test_an_ordinary_namespace_gets_a_restricted_non_root_mover() -> None:
    assert security.container_security_context(privileged=False, pod_context=None) == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": security.MOVER_USER,
        "runAsGroup": security.MOVER_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def test_the_pods_own_identity_and_seccomp_profile_win() -> None:
    pod = {"runAsUser": 1000, "fsGroup": 1000, "seccompProfile": {"type": "Localhost"}}
    context = security.container_security_context(privileged=False, pod_context=pod)
    assert "runAsUser" not in context
    assert "seccompProfile" not in context
    assert context["runAsGroup"] == security.MOVER_USER
    assert context["runAsNonRoot"] is True


def test_an_opted_in_namespace_gets_upstreams_privileged_mover() -> None:
    context = security.container_security_context(privileged=True, pod_context={"runAsUser": 1000})
    assert context["runAsUser"] == 0
    assert context["capabilities"] == {
        "drop": ["ALL"],
        "add": ["DAC_OVERRIDE", "CHOWN", "FOWNER"],
    }
    assert "runAsNonRoot" not in context
    assert context["allowPrivilegeEscalation"] is False


def test_only_user_zero_counts_as_asking_for_root() -> None:
    assert security.root_requested({"runAsUser": 0})
    assert not security.root_requested({"runAsUser": 1000, "runAsGroup": 0})
    assert not security.root_requested(None)
