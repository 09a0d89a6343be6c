"""`router run` as a subprocess against the real-Asterisk lab
(tests/support/asterisk.py), and the small router config it runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from support.asterisk import SECRET, Lab
from support.paths import ROOT
from support.waiting import stop_process


def router_config(recordings: Path) -> str:
    """A small router config for the lab: two agents, a plain queue on
    4008001000, a survey + record queue on 4008009000, a queue on 4008002000
    that sends its callers to voicemail after 2 s, a queue on 4008003000
    that rings an agent 3 s at most, a queue on 4008004000 no agent has
    the skill for (`vip`, for a supervisor's move), a queue on 4008005000
    that offers callers a callback after 1 s (one on 4008005001 too, whose
    failed attempts are tried again after 2 s) and one on 4008006000 that
    hangs them up after 1 s (with an announcement), one on 4008007000
    that transfers them after 1 s to an outside number over the trunk and
    one on 4008007001 to a number nobody answers, two queues on 4008008000
    chosen by the shipped IVR's keys (menu 3: `complaints`, which only 1002
    serves; language 3: `english`, which only 1001 serves; else `plain`),
    no calendars (the sample config's hours would make the result depend
    on the clock)."""
    return f"""\
settings:
  recordings_dir: {recordings}
skills: {{care: , vip: , english: , complaints: }}
agents:
  - {{id: "1001", name: "张伟", endpoint: PJSIP/1001, skills: {{care: 5, english: 5}}}}
  - {{id: "1002", name: "李娜", endpoint: PJSIP/1002, skills: {{care: 5, complaints: 5}}}}
queues:
  english:
    service_level: {{target: 80%, within: 20s}}
    wrapup: 0s
    skills: {{english: 3}}
  complaints:
    service_level: {{target: 80%, within: 20s}}
    wrapup: 0s
    skills: {{complaints: 3}}
  plain:
    service_level: {{target: 80%, within: 20s}}
    wrapup: 0s
    skills: {{care: 3}}
  care:
    service_level: {{target: 80%, within: 20s}}
    wrapup: 0s
    skills: {{care: 3}}
    survey: true
    record: true
  late:
    service_level: {{target: 80%, within: 20s}}
    skills: {{care: 3}}
    escalation:
      - after: 0s
        require: {{care: 3}}
      - after: 2s
        action: {{action: voicemail, mailbox: "8900@default", announce: custom/zh/all-busy}}
  short:
    service_level: {{target: 80%, within: 20s}}
    wrapup: 0s
    ring_timeout: 3s
    skills: {{care: 3}}
  vip:
    service_level: {{target: 80%, within: 20s}}
    wrapup: 0s
    skills: {{vip: 1}}
  callme:
    service_level: {{target: 80%, within: 20s}}
    wrapup: 0s
    skills: {{care: 3}}
    escalation:
      - after: 0s
        require: {{care: 3}}
      - after: 1s
        action: {{action: callback}}
  retry:
    service_level: {{target: 80%, within: 20s}}
    wrapup: 0s
    skills: {{care: 3}}
    callback_retry: 2s
    escalation:
      - after: 0s
        require: {{care: 3}}
      - after: 1s
        action: {{action: callback}}
  bye:
    service_level: {{target: 80%, within: 20s}}
    skills: {{care: 3}}
    escalation:
      - after: 0s
        require: {{care: 3}}
      - after: 1s
        action: {{action: hangup, announce: custom/zh/goodbye}}
  away:
    service_level: {{target: 80%, within: 20s}}
    skills: {{care: 3}}
    escalation:
      - after: 0s
        require: {{care: 3}}
      - after: 1s
        action: {{action: transfer, to: "13300133000"}}
  nowhere:
    service_level: {{target: 80%, within: 20s}}
    skills: {{care: 3}}
    escalation:
      - after: 0s
        require: {{care: 3}}
      - after: 1s
        action: {{action: transfer, to: "99999"}}
routing:
  rules:
    - name: ivr-complaints
      when: {{dnis: ["4008008000"], vars: {{menu: "3"}}}}
      queue: complaints
    - name: ivr-english
      when: {{dnis: ["4008008000"], vars: {{lang: en}}}}
      queue: english
    - name: away-line
      when: {{dnis: ["4008007000"]}}
      queue: away
    - name: nowhere-line
      when: {{dnis: ["4008007001"]}}
      queue: nowhere
    - name: vip-line
      when: {{dnis: ["4008004000"]}}
      queue: vip
    - name: callback-line
      when: {{dnis: ["4008005000"]}}
      queue: callme
    - name: retry-line
      when: {{dnis: ["4008005001"]}}
      queue: retry
    - name: bye-line
      when: {{dnis: ["4008006000"]}}
      queue: bye
    - name: short-line
      when: {{dnis: ["4008003000"]}}
      queue: short
    - name: late-line
      when: {{dnis: ["4008002000"]}}
      queue: late
    - name: care-line
      when: {{dnis: ["4008009000"]}}
      queue: care
  default: {{queue: plain}}
"""


#: the agents the lab's phones play, with the names in their PJSIP caller id
AGENTS = {"1001": "张伟", "1002": "李娜"}


def wait_for(condition, seconds: float, what: str):
    """Poll condition() (real time) until it returns something true; return it."""
    deadline = time.monotonic() + seconds
    while True:
        held = condition()
        if held:
            return held
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        time.sleep(0.1)


class RouterProcess:
    """`router run` as a subprocess against the lab's pbx (the AMI user and
    secret of the shipped manager.conf and install.sh), with the lab config
    (or `config`, a router YAML of the caller's own)."""

    def __init__(self, lab: Lab, workdir: Path, *extra: str, config: str | None = None) -> None:
        self.config = workdir / "router-config"
        self.config.mkdir()
        (self.config / "router.yaml").write_text(config or router_config(lab.recordings), encoding="utf-8")
        self.control = str(workdir / "control.sock")
        self.stdout, self.stderr = workdir / "router.out", workdir / "router.err"
        env = dict(os.environ, ROUTER_AMI_SECRET=SECRET, PYTHONIOENCODING="utf-8")
        self._out, self._err = self.stdout.open("wb"), self.stderr.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "router", "run", str(self.config), "--ami", f"127.0.0.1:{lab.ami_port}",
             "--ami-user", "router", "--control", self.control, *extra],
            stdout=self._out, stderr=self._err, env=env, cwd=ROOT)
        try:
            wait_for(self._pbx_connected, 20, "the router to log in to the real Asterisk")
        except BaseException:
            self.stop()
            raise

    def status(self) -> dict:
        """`router status --json` of the running router ({} while it is not up)."""
        done = subprocess.run([sys.executable, "-m", "router", "status", "--json", "--control", self.control],
                              capture_output=True, timeout=30, cwd=ROOT)
        return json.loads(done.stdout.decode("utf-8")) if done.returncode == 0 and done.stdout else {}

    def _pbx_connected(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"router exited {self.proc.returncode}: {self.stderr.read_text()[-2000:]}")
        pbxs = self.status().get("pbxs", [])
        return bool(pbxs) and all(p["connected"] for p in pbxs)

    def agent(self, aid: str) -> dict:
        (pbx,) = self.status()["pbxs"]
        (agent,) = [a for a in pbx["agents"] if a["agent"] == aid]
        return agent

    def output(self) -> str:
        return self.stdout.read_text(encoding="utf-8")

    def warnings(self) -> list[str]:
        """The router's log lines at warning or above, but the one it always
        gives without --state-file."""
        return [line for line in self.stderr.read_text(encoding="utf-8").splitlines()
                if ("level=warning" in line or "level=error" in line) and "no --state-file" not in line]

    def stop(self) -> int:
        stop_process(self.proc, 15)
        self._out.close()
        self._err.close()
        return self.proc.returncode
