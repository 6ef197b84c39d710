"""Run etcd, kube-apiserver and kube-controller-manager (and the node agent) as local processes.

This is the cluster every integration test and the demo run against: the real API server with
TLS, RBAC, service-account tokens and admission (including MutatingAdmissionPolicy), and the real
controllers for namespaces, garbage collection, Jobs and volume binding. One state directory holds
everything a run creates (PKI, etcd data, kubeconfig, logs, PID files), so `stop()` - from this
process or a later one - ends exactly what `start()` started.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from localcluster import binaries as binaries_module
from localcluster import certs, kubeconfig, processes, waiting

if TYPE_CHECKING:
    import lightkube

PACKAGE_DIRECTORY = Path(__file__).resolve().parent
REPOSITORY_ROOT = PACKAGE_DIRECTORY.parent
EXTERNAL_SECRET_CRD = PACKAGE_DIRECTORY / "manifests" / "externalsecret-crd.yaml"
AUDIT_POLICY = PACKAGE_DIRECTORY / "manifests" / "audit-policy.yaml"
# The audit log rotates at this size (MB), keeping this many old files beside it.
AUDIT_LOG_MAX_MEGABYTES = 200
AUDIT_LOG_BACKUPS = 10
NODE_AGENT_MODULE = "localcluster.nodeagent"
# The node agent learns the state directory (and so `pki/`) from this variable.
STATE_DIRECTORY_VARIABLE = "LOCALCLUSTER_DIR"
SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
CONTROLLERS = (
    "namespace-controller",
    "garbage-collector-controller",
    "job-controller",
    "cronjob-controller",
    "ttl-after-finished-controller",
    "persistentvolume-binder-controller",
    "persistentvolumeclaim-protection-controller",
    "persistentvolume-protection-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
)
WORKLOAD_CONTROLLERS = ("deployment-controller", "replicaset-controller", "statefulset-controller")
"""Run with ``workload_controllers=True`` (the test suite's shared cluster): apps that tests
stop and start (an in-place restore scales them), while other clusters keep Deployments inert
(a chart's operator Deployment there is only a manifest, its pod started by the test)."""
# The admission policy API is GA (v1) in 1.36; v1beta1 is served too for older manifests.
RUNTIME_CONFIG = "admissionregistration.k8s.io/v1beta1=true"
START_TIMEOUT_SECONDS = 90.0
# Ports are chosen free but bound later by the components; another process may win the race.
START_ATTEMPTS = 3
PORT_TAKEN = "address already in use"
NODE_READY_TIMEOUT_SECONDS = 60.0


class StartError(RuntimeError):
    """A component did not come up; the message names it and quotes the end of its log."""


class KubectlError(subprocess.CalledProcessError):
    """kubectl failed; unlike its base class the message carries kubectl's own error text."""

    def __str__(self) -> str:
        return f"{super().__str__()}\n{str(self.stderr).strip()}"


class AlreadyRunningError(RuntimeError):
    """The state directory already belongs to a running control plane."""


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def _http_ok(url: str, context: ssl.SSLContext | None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError, ssl.SSLError):
        return False


def _insecure_context() -> ssl.SSLContext:
    """For the controller-manager's self-signed health endpoint only (no credentials sent)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class ControlPlane:
    """A local cluster rooted at one state directory.

    `start()` brings everything up and returns when the API is ready, the CRDs are established and
    (when the node agent exists) the node is Ready. `stop()` ends every recorded process, also
    those started by another Python process, and removes the state except `logs/`.
    """

    def __init__(
        self,
        directory: Path,
        *,
        binaries: binaries_module.Binaries | None = None,
        node_agent: bool | None = None,
        detach: bool = False,
        progress: Callable[[str], None] | None = None,
        workload_controllers: bool = False,
    ) -> None:
        self.directory = Path(directory).resolve()
        self.binaries = binaries or binaries_module.Binaries.from_cache()
        self.node_agent = _node_agent_available() if node_agent is None else node_agent
        self.detach = detach
        self.controllers = CONTROLLERS + (WORKLOAD_CONTROLLERS if workload_controllers else ())
        self._progress = progress or (lambda _message: None)
        self.table = processes.ProcessTable(self.directory / "pids")
        self.logs = self.directory / "logs"
        self.kubeconfig = self.directory / "kubeconfig"
        # JSON lines, one per request (see manifests/audit-policy.yaml); rotated into audit-*.log.
        self.audit_log = self.logs / "audit.log"
        self.pki = certs.Pki(self.directory / "pki")
        self.server = ""
        self.timings: dict[str, float] = {}
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._ports: dict[str, int] = {}
        self._restarting = False
        self._load_state()

    # -- public API -----------------------------------------------------------------------

    def start(self) -> ControlPlane:
        """Bring the cluster up; on any failure stop what was started and raise StartError."""
        self.binaries.require()
        running = self.table.alive()
        if running:
            names = ", ".join(f"{entry.name}={entry.pid}" for entry in running)
            raise AlreadyRunningError(
                f"a local cluster is already running in {self.directory} ({names}); "
                "stop it first with `python -m localcluster down`"
            )
        started = time.monotonic()
        try:
            self._start_with_retries()
        except BaseException:
            self.stop()
            raise
        self.timings["total"] = time.monotonic() - started
        return self

    def _start_with_retries(self) -> None:
        """Start everything; start again from scratch when a chosen port was taken meanwhile."""
        for attempt in range(1, START_ATTEMPTS + 1):
            self._clear_state()
            try:
                self._start_all()
            except StartError as error:
                if attempt == START_ATTEMPTS or PORT_TAKEN not in str(error):
                    raise
                self._stop_processes()
                self._progress("a chosen port was taken meanwhile; starting again")
            else:
                return

    def stop(self) -> None:
        """Stop every recorded process (newest first) and remove the state except the logs."""
        self._stop_processes()
        self._clear_state()

    def _stop_processes(self) -> None:
        processes.stop_all(self.table, on_stop=self._forget_child)

    def _forget_child(self, entry: processes.Recorded) -> None:
        process = self._children.pop(entry.name, None)
        if process is not None:
            process.poll()  # records the exit already collected, so Popen does not warn

    def restart(self, component: str, *, down_seconds: float = 0.0) -> None:
        """Stop one component, leave it down for `down_seconds`, start it again on the same
        ports and data, and return once it is ready: a crash or an upgrade, as a user sees it.

        Restarting the node agent ends the containers it runs, as a node reboot would.
        """
        starters: dict[str, Callable[[], None]] = {
            "etcd": lambda: self._start_etcd(self._ports["etcd"], self._ports["peer"]),
            "kube-apiserver": lambda: self._start_apiserver(
                self._ports["apiserver"], self._ports["etcd"]
            ),
            "kube-controller-manager": lambda: self._start_controller_manager(self._ports["kcm"]),
            "nodeagent": self._start_node_agent,
        }
        if component not in starters:
            raise ValueError(f"unknown component {component!r}; one of {', '.join(starters)}")
        for entry in self.table.recorded():
            if entry.name == component:
                processes.stop(entry)
                self._forget_child(entry)
                self.table.forget(entry.name)
        time.sleep(down_seconds)
        self._restarting = True
        try:
            starters[component]()
        finally:
            self._restarting = False

    def audit_files(self) -> list[Path]:
        """The audit log's files, oldest first: the rotated ones, then the current one."""
        return [*sorted(self.logs.glob("audit-*.log")), self.audit_log]

    def audit_events(self) -> Iterator[dict[str, Any]]:
        """Every audit event recorded so far, oldest first, read as it is iterated."""
        return read_audit(self.audit_files())

    def running(self) -> list[processes.Recorded]:
        """The recorded processes that are still alive."""
        return self.table.alive()

    def kubectl(
        self,
        *arguments: str,
        input_text: str | None = None,
        check: bool = True,
        timeout: float = 60.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run the built kubectl against this cluster; raise KubectlError when it fails."""
        command = [str(self.binaries.kubectl), f"--kubeconfig={self.kubeconfig}", *arguments]
        result = subprocess.run(
            command, input=input_text, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise KubectlError(
                result.returncode, command, output=result.stdout, stderr=result.stderr
            )
        return result

    def wait_for(
        self,
        resource: str,
        name: str,
        condition: str,
        *,
        namespace: str = "",
        timeout: float = waiting.DEFAULT_TIMEOUT_SECONDS,
    ) -> dict[str, Any]:
        """Wait until the object has ``condition``=True (see `localcluster.waiting`)."""
        return waiting.wait_for_condition(
            self.kubectl, resource, name, condition, namespace=namespace, timeout=timeout
        )

    def wait_for_all(
        self,
        resource: str,
        names: list[str],
        condition: str,
        *,
        timeout: float = waiting.DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        """Wait until each named object has ``condition``=True, within one deadline."""
        waiting.wait_for_all(self.kubectl, resource, names, condition, timeout=timeout)

    def client(self, **options: Any) -> lightkube.Client:
        """A lightkube client authenticated as the cluster admin."""
        import lightkube

        return lightkube.Client(lightkube.KubeConfig.from_file(self.kubeconfig), **options)

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- start sequence -------------------------------------------------------------------

    def _start_all(self) -> None:
        self._timed(
            "certificates",
            lambda: certs.generate(self.pki.directory, node_names=(socket.gethostname(),)),
        )
        names = ("etcd", "peer", "apiserver", "kcm")
        ports = dict(zip(names, processes.free_ports(len(names)), strict=True))
        self._ports = ports
        for old in self.logs.glob("audit*.log"):
            old.unlink()
        self.server = f"https://127.0.0.1:{ports['apiserver']}"
        kubeconfig.write(self.kubeconfig, server=self.server, pki=self.pki)
        self._timed("etcd", lambda: self._start_etcd(ports["etcd"], ports["peer"]))
        self._timed(
            "kube-apiserver", lambda: self._start_apiserver(ports["apiserver"], ports["etcd"])
        )
        self._timed("kube-controller-manager", lambda: self._start_controller_manager(ports["kcm"]))
        self._timed("crds", self._install_crds)
        if self.node_agent:
            self._timed("node-agent", self._start_node_agent)
        self._save_state(ports)

    def _timed(self, step: str, action: Callable[[], object]) -> None:
        self._progress(f"starting {step}")
        started = time.monotonic()
        action()
        self.timings[step] = time.monotonic() - started

    def _launch(self, name: str, command: Sequence[str], **options: Any) -> None:
        self._children[name] = processes.start(
            name,
            command,
            table=self.table,
            log_directory=self.logs,
            die_with_parent=not self.detach,
            append=self._restarting,
            **options,
        )

    def _wait(
        self, name: str, ready: Callable[[], bool], *, timeout: float = START_TIMEOUT_SECONDS
    ) -> None:
        """Poll `ready` until it holds; fail early with the log when the process exits."""
        deadline = time.monotonic() + timeout
        log = self.logs / f"{name}.log"
        while time.monotonic() < deadline:
            if ready():
                return
            process = self._children.get(name)
            if process is not None and process.poll() is not None:
                raise StartError(
                    f"{name} exited with status {process.returncode} during start; "
                    f"end of {log}:\n{_log_tail(log)}"
                )
            time.sleep(0.1)
        raise StartError(
            f"{name} was not ready within {timeout:.0f} s; end of {log}:\n{_log_tail(log)}"
        )

    def _start_etcd(self, client_port: int, peer_port: int) -> None:
        client_url = f"http://127.0.0.1:{client_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        self._launch(
            "etcd",
            [
                str(self.binaries.etcd),
                "--name=localcluster",
                f"--data-dir={self.directory / 'etcd'}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=localcluster={peer_url}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
        )
        self._wait("etcd", lambda: _http_ok(f"{client_url}/health", None))

    def _start_apiserver(self, port: int, etcd_port: int) -> None:
        pki = self.pki
        self._launch(
            "kube-apiserver",
            [
                str(self.binaries.kube_apiserver),
                f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={pki.directory}",
                f"--tls-cert-file={pki.path('apiserver.crt')}",
                f"--tls-private-key-file={pki.path('apiserver.key')}",
                f"--client-ca-file={pki.client_ca}",
                "--authorization-mode=RBAC",
                f"--service-account-issuer=https://127.0.0.1:{port}",
                f"--service-account-key-file={pki.service_account_public_key}",
                f"--service-account-signing-key-file={pki.service_account_key}",
                f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
                "--allow-privileged=true",
                "--endpoint-reconciler-type=none",
                f"--runtime-config={RUNTIME_CONFIG}",
                f"--kubelet-client-certificate={pki.path('apiserver-kubelet-client.crt')}",
                f"--kubelet-client-key={pki.path('apiserver-kubelet-client.key')}",
                "--kubelet-preferred-address-types=InternalIP,Hostname",
                "--profiling=false",
                f"--audit-policy-file={AUDIT_POLICY}",
                f"--audit-log-path={self.audit_log}",
                "--audit-log-format=json",
                f"--audit-log-maxsize={AUDIT_LOG_MAX_MEGABYTES}",
                f"--audit-log-maxbackup={AUDIT_LOG_BACKUPS}",
            ],
        )
        context = ssl.create_default_context(cafile=str(pki.serving_ca))
        self._wait("kube-apiserver", lambda: _http_ok(f"{self.server}/readyz", context))

    def _start_controller_manager(self, port: int) -> None:
        self._launch(
            "kube-controller-manager",
            [
                str(self.binaries.kube_controller_manager),
                f"--kubeconfig={self.kubeconfig}",
                f"--authentication-kubeconfig={self.kubeconfig}",
                f"--authorization-kubeconfig={self.kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.pki.directory / 'kube-controller-manager'}",
                f"--controllers={','.join(self.controllers)}",
                f"--service-account-private-key-file={self.pki.service_account_key}",
                f"--root-ca-file={self.pki.serving_ca}",
                "--profiling=false",
            ],
        )
        context = _insecure_context()
        self._wait(
            "kube-controller-manager",
            lambda: _http_ok(f"https://127.0.0.1:{port}/healthz", context),
        )

    def _install_crds(self) -> None:
        manifests = [*sorted(self.binaries.snapshot_crds.glob("*.yaml")), EXTERNAL_SECRET_CRD]
        arguments = [argument for path in manifests for argument in ("-f", str(path))]
        self.kubectl("apply", "--server-side", *arguments)
        self.wait_for_all("crd", [_crd_name(path) for path in manifests], "Established")

    def _start_node_agent(self) -> None:
        environment = dict(os.environ)
        environment[STATE_DIRECTORY_VARIABLE] = str(self.directory)
        environment["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(REPOSITORY_ROOT), environment.get("PYTHONPATH")])
        )
        self._launch(
            "nodeagent",
            [
                sys.executable,
                "-m",
                NODE_AGENT_MODULE,
                "--kubeconfig",
                str(self.kubeconfig),
                "--state-dir",
                str(self.directory / "node"),
            ],
            environment=environment,
            working_directory=REPOSITORY_ROOT,
        )
        self._wait("nodeagent", self._node_ready, timeout=NODE_READY_TIMEOUT_SECONDS)

    def _node_ready(self) -> bool:
        result = self.kubectl("get", "nodes", "-o", "json", check=False, timeout=20)
        if result.returncode != 0:
            return False
        for node in json.loads(result.stdout).get("items", []):
            for condition in node.get("status", {}).get("conditions", []):
                if condition.get("type") == "Ready" and condition.get("status") == "True":
                    return True
        time.sleep(0.4)
        return False

    # -- state ----------------------------------------------------------------------------

    def _state_file(self) -> Path:
        return self.directory / "cluster.json"

    def _save_state(self, ports: dict[str, int]) -> None:
        state = {"server": self.server, "ports": ports, "kubeconfig": str(self.kubeconfig)}
        self._state_file().write_text(json.dumps(state, indent=2) + "\n")

    def _load_state(self) -> None:
        with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
            state = json.loads(self._state_file().read_text())
            self.server = str(state["server"])
            self._ports = {name: int(port) for name, port in state["ports"].items()}

    def _clear_state(self) -> None:
        """Remove everything of a previous run except its logs (kept for diagnosis); the
        containers' logs move from node/logs/ to logs/pods/."""
        if not self.directory.exists():
            return
        self._keep_pod_logs()
        for entry in self.directory.iterdir():
            if entry.name == "logs":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    def _keep_pod_logs(self) -> None:
        pod_logs = self.directory / "node" / "logs"
        if not pod_logs.is_dir():
            return
        kept = self.logs / "pods"
        kept.mkdir(parents=True, exist_ok=True)
        for path in pod_logs.iterdir():
            path.replace(kept / path.name)


def read_audit(paths: Iterable[Path]) -> Iterator[dict[str, Any]]:
    """Yield the audit events of the given files in order; a missing file is skipped, and so is
    a line the API server is still writing."""
    for path in paths:
        if not path.exists():
            continue
        with path.open(errors="replace") as lines:
            for line in lines:
                with contextlib.suppress(ValueError):
                    yield json.loads(line)


def _crd_name(path: Path) -> str:
    """The metadata.name of a one-document CRD manifest."""
    return str(yaml.safe_load(path.read_text())["metadata"]["name"])


def _node_agent_available() -> bool:
    """The node agent is written separately; until its module exists the cluster runs without it."""
    with contextlib.suppress(ModuleNotFoundError):
        return importlib.util.find_spec(f"{NODE_AGENT_MODULE}.__main__") is not None
    return False
