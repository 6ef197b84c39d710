"""The spec's story on a real local cluster: a new app, its backups, a disaster, its return.

1. Start the local control plane (kube-apiserver, etcd, kube-controller-manager, node agent) and
   the operator, with the repository on an "NFS" export (a local directory).
2. Deploy an app with the VolSync component and no repository yet (Scenario B): its PVC binds to
   an empty volume and the destination says the repository does not exist.
3. The app writes its data; the schedule (every minute here instead of every hour) backs it up;
   the app changes a file; the next scheduled backup is incremental.
4. Disaster: the app's namespace is deleted with every volume in it.
5. Deploy the app again (Scenario A): the bootstrap restores the latest backup into the PVC
   before the app starts; every file's checksum is compared with what the app had.
6. Print what happened with timings, then stop everything that was started.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from localcluster import controlplane
from rich import console as rich_console
from rich import table as rich_table

ROOT = Path(__file__).resolve().parents[1]
APP = "photos"
NAMESPACE = "media"
APP_UID = 4000
NFS = ("nas.demo", "/mnt/vault/cluster/volsync")
WRITE = (
    "mkdir -p /data/albums/2026 && echo 'first light' > /data/notes.txt && "
    "head -c 3000000 /dev/urandom > /data/albums/2026/sunrise.raw && "
    "head -c 500000 /dev/urandom > /data/albums/2026/dusk.raw && "
    "echo v1 > /data/albums/2026/version && ln -sf notes.txt /data/readme"
)
CHANGE = "echo v2 > /data/albums/2026/version && head -c 200000 /dev/urandom > /data/new.raw"
CHECKSUMS = "cd /data && find . -type f ! -path './lost+found/*' | sort | xargs -r md5sum"
Result = TypeVar("Result")


class DemoError(RuntimeError):
    """A step of the story did not happen; the message says which."""


@dataclasses.dataclass
class Step:
    name: str
    seconds: float
    detail: str


@dataclasses.dataclass
class Story:
    plane: controlplane.ControlPlane
    console: rich_console.Console
    password: str = dataclasses.field(default_factory=lambda: secrets.token_hex(16))
    steps: list[Step] = dataclasses.field(default_factory=list)

    def step(self, name: str, action: Callable[[], str]) -> None:
        """Run one step, time it, print it."""
        started = time.monotonic()
        with self.console.status(name):
            detail = action()
        self.steps.append(Step(name, time.monotonic() - started, detail))
        self.console.print(
            f"[green]✓[/green] {name} [dim]({time.monotonic() - started:.0f} s)[/dim] {detail}"
        )

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        return self.plane.kubectl(*args, input_text=stdin).stdout

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = self.plane.kubectl("get", kind, name, "-n", NAMESPACE, "-o", "json", check=False)
        return json.loads(found.stdout) if found.returncode == 0 else {}

    def status(self, kind: str, name: str) -> dict[str, Any]:
        return self.get(kind, name).get("status") or {}


def wait(probe: Callable[[], Result | None], *, what: str, timeout: float = 240) -> Result:
    """Poll ``probe`` until it returns something; raise DemoError naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(1)
    raise DemoError(f"timed out after {timeout:.0f} s waiting for {what}")


def component(story: Story) -> list[dict[str, Any]]:
    """The app component rendered for the app, with the hourly schedule shortened to a minute."""
    command = [str(Path(sys.executable).parent / "pyvolsync"), "render-component"]
    command += ["--app", APP, "--namespace", NAMESPACE]
    rendered = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    objects = [item for item in yaml.safe_load_all(rendered) if item]
    for item in objects:
        if item["kind"] == "ReplicationSource":
            item["spec"]["trigger"]["schedule"] = "* * * * *"
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"{APP}-volsync-secret", "namespace": NAMESPACE},
        "stringData": {
            "RESTIC_REPOSITORY": f"/repository/{APP}",
            "RESTIC_PASSWORD": story.password,
        },
    }
    return [secret, *objects]


def deploy(story: Story) -> str:
    story.kubectl("create", "namespace", NAMESPACE)
    wait(
        lambda: (
            story.plane.kubectl("get", "sa", "default", "-n", NAMESPACE, check=False).returncode
            == 0
        ),
        what="the namespace",
    )
    documents = {"apiVersion": "v1", "kind": "List", "items": component(story)}
    story.kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(documents))
    wait(lambda: story.status("pvc", APP).get("phase") == "Bound", what="the app's PVC to bind")
    bootstrap = story.status("replicationdestination", f"{APP}-bootstrap")
    reason = next((item["reason"] for item in bootstrap.get("conditions") or []), "")
    snapshot = (bootstrap.get("lastSyncResult") or {}).get("snapshotID", "")
    return f"PVC bound; bootstrap: {reason}" + (
        f", restored snapshot {snapshot[:8]}" if snapshot else ""
    )


def run_app(story: Story, name: str, script: str) -> str:
    """Run the app (a Job as the app's user with its PVC at /data) and return its output."""
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"backoffLimit": 0, "template": {"spec": {
            "restartPolicy": "Never",
            "securityContext": {"runAsUser": APP_UID, "runAsGroup": APP_UID, "fsGroup": APP_UID},
            "containers": [{"name": "app", "image": "busybox:1.37", "command": ["sh", "-c", script],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": APP}}],
        }}},
    }  # fmt: skip
    story.kubectl("apply", "-f", "-", stdin=json.dumps(job))
    story.plane.wait_for("job", name, "Complete", namespace=NAMESPACE, timeout=180)
    return story.kubectl("logs", "-n", NAMESPACE, f"job/{name}")


def scheduled_backup_after(story: Story, moment: str) -> dict[str, Any]:
    """Wait for a scheduled backup that finished after ``moment`` and saved a snapshot."""

    def done() -> dict[str, Any] | None:
        found = story.status("replicationsource", APP)
        result = found.get("lastSyncResult") or {}
        if found.get("lastSyncTime", "") > moment and result.get("snapshotID"):
            return found
        return None

    return wait(done, what="a scheduled backup", timeout=200)


def backup_detail(status: dict[str, Any]) -> str:
    result = status["lastSyncResult"]
    return (
        f"snapshot {result['snapshotID'][:8]}, {result.get('filesNew', 0)} new and "
        f"{result.get('filesChanged', 0)} changed files, "
        f"{result.get('bytesAdded', 0):,} bytes added, next at {status.get('nextSyncTime', '?')}"
    )


def now_text() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def tell(story: Story) -> None:
    expected: dict[str, str] = {}
    story.step("Scenario B: deploy the new app (no repository yet)", lambda: deploy(story))
    story.step(
        "the app starts on an empty volume",
        lambda: "files: " + str(len(run_app(story, "look", CHECKSUMS).splitlines())),
    )
    moment: dict[str, str] = {}

    def write() -> str:
        run_app(story, "write", WRITE)
        moment["first"] = now_text()
        return "4 files, 3.5 MB"

    story.step("the app writes its data", write)
    story.step(
        "first scheduled backup",
        lambda: backup_detail(scheduled_backup_after(story, moment["first"])),
    )

    def change() -> str:
        run_app(story, "change", CHANGE)
        moment["second"] = now_text()
        expected["sums"] = run_app(story, "sums", CHECKSUMS)
        return "version v2 and one new file"

    story.step("the app changes its data", change)
    story.step(
        "second scheduled backup (incremental)",
        lambda: backup_detail(scheduled_backup_after(story, moment["second"])),
    )
    story.step(
        "disaster: the namespace and every volume in it are deleted",
        lambda: story.kubectl("delete", "namespace", NAMESPACE, "--timeout=180s").strip(),
    )
    story.step("Scenario A: deploy the app again", lambda: deploy(story))

    def verify() -> str:
        restored = run_app(story, "verify", CHECKSUMS)
        if restored != expected["sums"]:
            raise DemoError(
                f"restored data differs:\nexpected\n{expected['sums']}\ngot\n{restored}"
            )
        version = run_app(story, "version", "cat /data/albums/2026/version").strip()
        if version != "v2":
            raise DemoError(f"restored version is {version!r}, not the latest backup's v2")
        return f"{len(restored.splitlines())} files, every checksum equal, version {version}"

    story.step("every byte came back", verify)


def summary(story: Story) -> rich_table.Table:
    table = rich_table.Table(title="pyvolsync demo: the spec's story on a local cluster")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    table.add_column("what happened")
    for step in story.steps:
        table.add_row(step.name, f"{step.seconds:.0f}", step.detail)
    return table


def start_operator(plane: controlplane.ControlPlane, log_path: Path) -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).parent / "pyvolsync"), "operator",
        "--kubeconfig", str(plane.kubeconfig),
        "--repository-nfs", f"{NFS[0]}:{NFS[1]}",
        "--metrics-port", "0", "--no-leader-election",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def install_crds(story: Story) -> str:
    for path in sorted((ROOT / "deploy" / "crds").glob("*.yaml")):
        if not path.name.startswith("kustomization"):
            story.kubectl("apply", "--server-side", "-f", str(path))
    plurals = ("replicationsources", "replicationdestinations")
    story.plane.wait_for_all("crd", [f"{name}.volsync.backube" for name in plurals], "Established")
    return "CRDs established"


def main() -> int:
    console = rich_console.Console()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pyvolsync-demo-") as work:
        plane = controlplane.ControlPlane(Path(work) / "cluster")
        operator: subprocess.Popen[bytes] | None = None
        story = Story(plane=plane, console=console)
        try:
            story.step(
                "start the local cluster", lambda: (plane.start(), f"ready at {plane.server}")[1]
            )
            story.step("install the CRDs", lambda: install_crds(story))
            operator = start_operator(plane, Path(work) / "operator.log")
            tell(story)
        except (DemoError, controlplane.StartError, subprocess.CalledProcessError) as error:
            console.print(f"[red]✗ the demo failed:[/red] {error}")
            log = Path(work) / "operator.log"
            if log.exists():
                console.print(
                    "[dim]"
                    + "\n".join(log.read_text(errors="replace").splitlines()[-30:])
                    + "[/dim]"
                )
            return 1
        finally:
            if operator is not None:
                operator.send_signal(signal.SIGTERM)
                operator.wait(timeout=30)
            plane.stop()
        console.print(summary(story))
        console.print(f"done in {time.monotonic() - started:.0f} s; nothing left running")
    return 0
