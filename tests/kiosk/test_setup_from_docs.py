"""docs/office.md, step by step, on a blank folder: a real office server, a real ``kiosk run --simulate`` gate.

The office's commands run as a person would type them (``kiosk …`` in the
office's folder, reading its office.yaml); every one of them is checked to be
written in docs/office.md, so the page and this test cannot drift apart.
Then the card is shown to the gate's local API; a key rotation, a retired key
and a replacement card must reach the running gate by sync alone.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.office_fixtures import free_port

REPO = Path(__file__).resolve().parents[2]
SYNC_INTERVAL_S = 1.0
# A couple of sync intervals, and room for a slow machine's first round (imports, TLS-less HTTP, SQLite).
SYNC_WAIT_S = 2 * SYNC_INTERVAL_S + 8
ROSTER = """楼栋,单元,房间号,姓名,手机号
3,2,501,王小山,13812345678
3,2,501,李红,13900001111
5,1,302,张三,
5,1,303,赵四,
"""
VISITOR_ID = "11010519491231002X"  # made up, with a right check digit
KEY_REFUSALS = {"card_unknown_key", "card_revoked", "card_bad_signature", "card_not_in_registry"}


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8"}


class Setup:
    """A blank office folder and gate folder, and the `kiosk` command run in them."""

    def __init__(self, root: Path):
        self.office_dir = root / "office"
        self.gate_dir = root / "gate"
        self.office_dir.mkdir()
        self.gate_dir.mkdir()
        self.docs = (REPO / "docs" / "office.md").read_text(encoding="utf-8")
        self.processes: list[tuple[subprocess.Popen, list]] = []

    def kiosk(self, line: str, *, extra: tuple[str, ...] = (), documented: str | None = None, input: str | None = None,
              cwd: Path | None = None) -> subprocess.CompletedProcess:
        """Run one documented command line (``kiosk …``) in the office folder; fails unless docs/office.md has it."""
        assert (documented or line) in self.docs, f"docs/office.md does not say: {documented or line}"
        args = shlex.split(line)
        assert args[0] == "kiosk"
        result = subprocess.run([sys.executable, "-m", "kiosk.cli", *args[1:], *extra], cwd=cwd or self.office_dir,
                                input=input, capture_output=True, text=True, env=_env(), timeout=120)
        assert result.returncode == 0, f"{line}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
        return result

    def kiosk_json(self, line: str, **kwargs) -> dict:
        """A documented command with ``--json`` added, for the values the test needs (card text, versions)."""
        return json.loads(self.kiosk(line, extra=("--json",), **kwargs).stdout)

    def start(self, line: str, cwd: Path, name: str) -> subprocess.Popen:
        """Start a long-running documented command; its output goes to NAME.out / NAME.err beside it."""
        assert line in self.docs, f"docs/office.md does not say: {line}"
        args = shlex.split(line)
        # Files, not pipes: nobody reads these while the test runs, and a full pipe would stall the process.
        files = [open(cwd / f"{name}.{kind}", "w", encoding="utf-8") for kind in ("out", "err")]
        process = subprocess.Popen([sys.executable, "-m", "kiosk.cli", *args[1:]], cwd=cwd, stdout=files[0],
                                   stderr=files[1], env=_env())
        self.processes.append((process, files))
        return process

    def stop_all(self) -> None:
        """SIGTERM every started process, then SIGKILL what is left."""
        processes, self.processes = self.processes, []
        for process, files in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            for handle in files:
                handle.close()

    def logs(self) -> str:
        """Everything the office and the gate printed, for a failing assertion."""
        parts = []
        for path in sorted([*self.office_dir.glob("*.out"), *self.office_dir.glob("*.err"),
                            *self.gate_dir.glob("*.out"), *self.gate_dir.glob("*.err")]):
            parts.append(f"--- {path.name}\n{path.read_text(encoding='utf-8', errors='replace')[-3000:]}")
        return "\n".join(parts)


def _wait_for(url: str, process: subprocess.Popen, setup: Setup, timeout_s: float = 30.0) -> None:
    """Until ``url`` answers 200 (the process is up), or fail with its output."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{url}: the process exited ({process.returncode})\n{setup.logs()}"
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass  # not listening yet
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {timeout_s} s\n{setup.logs()}")


class Gate:
    """The running gate's local API."""

    def __init__(self, url: str, setup: Setup):
        self.url = url
        self.setup = setup

    def registry_version(self) -> int:
        return requests.get(self.url + "/api/v1/status", timeout=5).json()["registry_version"]

    def synced_to(self, version: int) -> float:
        """Wait until the gate's replica holds registry ``version``; returns how long it took."""
        start = time.monotonic()
        while self.registry_version() < version:
            assert time.monotonic() - start < SYNC_WAIT_S, (
                f"the gate did not reach registry version {version} in {SYNC_WAIT_S} s "
                f"(at {self.registry_version()})\n{self.setup.logs()}")
            time.sleep(0.05)
        return time.monotonic() - start

    def delivered(self) -> float:
        """Wait until the office has acknowledged every event of the gate's journal; returns how long it took."""
        start = time.monotonic()
        while requests.get(self.url + "/api/v1/status", timeout=5).json()["journal"]["backlog"]:
            assert time.monotonic() - start < SYNC_WAIT_S, f"the gate's events did not reach the office\n{self.setup.logs()}"
            time.sleep(0.05)
        return time.monotonic() - start

    def scan(self, text: str) -> dict:
        """Show a card at the gate, coming in, with a typed 36.5 °C (nobody stands at the simulated thermometer)."""
        response = requests.post(self.url + "/api/v1/scans", json={"text": text, "direction": "in", "manual_c": 36.5},
                                 timeout=30)
        assert response.status_code == 200, f"{response.status_code}: {response.text}\n{self.setup.logs()}"
        return response.json()

    def assert_accepted(self, text: str) -> dict:
        """The card is taken as valid: whatever the decision, no refusal of the card itself."""
        answer = self.scan(text)
        refused = KEY_REFUSALS & set(answer.get("reasons", []))
        assert not refused, f"card refused: {answer}\n{self.setup.logs()}"
        return answer

    def assert_refused(self, text: str, reason: str) -> dict:
        answer = self.scan(text)
        assert reason in answer.get("reasons", []) and answer.get("verdict") != "admit", answer
        return answer


@pytest.fixture
def setup(tmp_path):
    running = Setup(tmp_path)
    yield running
    running.stop_all()


def test_office_and_gate_from_the_docs_alone(setup):
    office_port, gate_port = free_port(), free_port()
    office_dir, gate_dir = setup.office_dir, setup.gate_dir

    # -- at the office: office.yaml, then the commands of docs/office.md in order --------------
    (office_dir / "office.yaml").write_text(
        "office:\n"
        f"  data_dir: {office_dir / 'data'}\n"
        f"  keys_dir: {office_dir / 'data' / 'keys'}\n"
        "server:\n"
        "  host: 127.0.0.1\n"
        f"  port: {office_port}\n"
        f"  public_url: http://127.0.0.1:{office_port}\n", encoding="utf-8")
    (office_dir / "花名册.csv").write_text(ROSTER, encoding="utf-8")
    first_key = setup.kiosk_json("kiosk keys init")["kid"]
    setup.kiosk("kiosk office add-user li --role admin", input="s3cret pass\ns3cret pass\n")
    setup.kiosk("kiosk office import-roster 花名册.csv")
    setup.kiosk("kiosk office add-gate north-gate --name 北门")
    wang = setup.kiosk_json("kiosk office cards issue --resident 3-2-501:王小山")
    assert Path(wang["image"]).name == "3-2-501_王小山_card-1.png" and wang["revoked"] == []
    # Two more of the first key's cards, kept for later: 张三's to replace, 赵四's for when the key is retired.
    zhang = setup.kiosk_json("kiosk office cards issue --resident 5-1-302:张三")
    zhao = setup.kiosk_json("kiosk office cards issue --resident 5-1-303:赵四",
                            documented="kiosk office cards issue --resident")
    office = setup.start("kiosk office serve", office_dir, "office")
    _wait_for(f"http://127.0.0.1:{office_port}/healthz", office, setup)

    # -- at the gate: the provisioning file and config.yaml, then kiosk run -------------------------
    provisioning = gate_dir / "north-gate.provision.json"
    provisioning.write_bytes((office_dir / "north-gate.provision.json").read_bytes())
    (gate_dir / "config.yaml").write_text(
        "gate:\n"
        "  id: north-gate\n"
        f"  data_dir: {gate_dir / 'data'}\n"
        "sync:\n"
        f"  provisioning_file: {provisioning}\n"
        f"  interval_s: {SYNC_INTERVAL_S}\n"
        "web:\n"
        f"  port: {gate_port}\n", encoding="utf-8")
    assert "kiosk run --simulate --config config.yaml" in setup.docs
    gate_process = setup.start("kiosk run --simulate --config config.yaml", gate_dir, "gate")
    gate = Gate(f"http://127.0.0.1:{gate_port}", setup)
    _wait_for(gate.url + "/api/v1/status", gate_process, setup)
    gate.synced_to(zhao["version"])
    answer = gate.assert_accepted(wang["text"])
    assert "card_valid" in answer["reasons"], answer

    # -- a key rotation reaches the running gate -------------------------------------------------------------
    rotated = setup.kiosk_json("kiosk keys rotate")
    assert rotated["kid"] != first_key and set(rotated["kids"]) == {first_key, rotated["kid"]}
    li = setup.kiosk_json("kiosk office cards issue --resident 3-2-501:李红")
    assert li["card"]["kid"] == rotated["kid"]
    gate.synced_to(li["version"])
    gate.assert_accepted(li["text"])

    # -- a replacement card: the old one is refused as revoked, the new one accepted ---------------------
    replacement = setup.kiosk_json("kiosk office cards issue --resident 5-1-302:张三")
    assert replacement["revoked"] == [zhang["card"]["card_id"]]
    gate.synced_to(replacement["version"])
    gate.assert_refused(zhang["text"], "card_revoked")
    gate.assert_accepted(replacement["text"])

    # -- a retired key stops being trusted at the gate ----------------------------------------------------------
    retired = setup.kiosk_json(f"kiosk keys retire {first_key}", documented="kiosk keys retire")
    assert retired["kids"] == [rotated["kid"]]
    gate.synced_to(retired["version"])
    gate.assert_refused(zhao["text"], "card_unknown_key")

    # -- a visitor's ID number: sealed at the gate, opened at the office for contact tracing -----------------------
    # the gate asks whom the visitor visits (visitors.host_required, on by default): the household picker's list
    host = requests.get(gate.url + "/api/v1/households", timeout=30).json()[0]["id"]
    visitor = {"name": "孙来访", "phone": "13800138000", "id_number": VISITOR_ID, "coming_from": "任丘市",
               "host_household_id": host, "reason": "visiting_family", "temperatures_c": [36.5]}
    registered = requests.post(gate.url + "/api/v1/visitors", json=visitor, timeout=30)
    assert registered.status_code == 200, f"{registered.text}\n{setup.logs()}"
    seq = registered.json()["seq"][0]
    gate.delivered()
    opened = setup.kiosk_json(f"kiosk office open-id north-gate {seq} --staff li --reason 密接排查",
                              documented="kiosk office open-id north-gate")
    assert opened["id_number"] == VISITOR_ID
    assert "li" in (office_dir / "data" / "id-openings.log").read_text(encoding="utf-8")
    provisioned = json.loads(provisioning.read_text(encoding="utf-8"))
    assert provisioned["id_sealing_key"] and "id_hash_key" not in provisioned

    setup.stop_all()
    assert gate_process.returncode == 0, setup.logs()
