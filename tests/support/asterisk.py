"""A real Asterisk 22.10.1 for the tests, running the *shipped* deploy/asterisk
configs, and a second instance that plays the agents' phones and the callers.

The main instance ("pbx") gets a copy of deploy/asterisk/ unchanged but for
the AMI port (other tests and engineers may hold 5038), plus the test-side
files a site adds itself: modules.conf, pjsip.conf (agent endpoints and a
trunk on free ports), the AMI secret written by the shipped install.sh, a
voicemail.conf, a logger.conf, the survey prompt and, with prompts=True,
the IVR's prompts (without them router-inbound's Read()s return at once
and every call gets the IVR's defaults). The "phones" instance (127.0.0.2 for
the phones, 127.0.0.3 for the trunk's callers) registers one PJSIP phone per
agent with the pbx, answers the calls the router sends them, talks for
TALK seconds and hangs up (the agent hangs up); callers are AMI Originates
on it. See ../shared/asterisk/README.md for how the two are wired.

Skips when ../shared/asterisk is missing or Asterisk dies of SIGILL (the
build needs AVX-512); fails when its runtime libraries are missing
(scripts/test.sh installs them)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from support.ami_client import Ami
from support.asterisk_conf import (IVR_PROMPTS, PHONES_DIALPLAN, PROMPT, TALK, free_udp_port, modules_conf, pbx_pjsip,
                                   phones_pjsip, silence)
from support.paths import ROOT
from support.ports import free_port

SHARED = ROOT.parent / "shared" / "asterisk"
LAB = SHARED / "asterisk-lab"
DEPLOY = ROOT / "deploy" / "asterisk"
SECRET = "router-lab-secret-0123456789"
#: Asterisk's core prompts in English, from Debian's asterisk-core-sounds-en-gsm, in en_US_f_Allison;
#: asterisk-core-sounds-en links sounds/en to it (scripts/test.sh installs both)
CORE_SOUNDS = next((p for p in (Path("/usr/share/asterisk/sounds/en"),
                                Path("/usr/share/asterisk/sounds/en_US_f_Allison")) if p.is_dir()),
                   Path("/usr/share/asterisk/sounds/en"))


class Instance:
    """One Asterisk run by ../shared/asterisk/asterisk-lab."""

    def __init__(self, etc: Path, state: Path) -> None:
        self.etc, self.state = etc, state
        self.pid: int | None = None

    def start(self) -> None:
        done = subprocess.run(["bash", str(LAB), "start", str(self.etc), str(self.state)],
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            console = (self.state / "log" / "console.out")
            text = console.read_text(errors="replace") if console.exists() else ""
            if "missing libraries" in done.stderr:
                pytest.fail(f"Asterisk's runtime libraries are missing (scripts/test.sh installs them): "
                            f"{done.stderr.strip()}")
            if "Illegal instruction" in text + done.stderr or _died_of_sigill(self.state):
                pytest.skip("Asterisk died of SIGILL: this CPU lacks the AVX-512 the lab build needs")
            raise RuntimeError(f"asterisk-lab start failed: {done.stderr.strip()}\n{text[-2000:]}")
        self.pid = int(done.stdout.split()[-1])

    def cli(self, command: str) -> str:
        return subprocess.run(["bash", str(LAB), "cli", str(self.state), command],
                              capture_output=True, text=True, timeout=30).stdout

    def idle(self) -> bool:
        """No channel up now. Anchored: "10 active channels" contains
        "0 active channels"."""
        return re.search(r"^0 active channels\b", self.cli("core show channels"), re.M) is not None

    def stop(self) -> None:
        if self.pid is not None:
            subprocess.run(["bash", str(LAB), "stop", str(self.state)], capture_output=True, timeout=30)
            self.pid = None


def _died_of_sigill(state: Path) -> bool:
    """Asterisk run directly, once, to see how it ends (asterisk-lab only says
    it exited)."""
    cache = Path(subprocess.run(["bash", "-c", 'echo "${ASTERISK_LAB_CACHE:-${TMPDIR:-/tmp}/asterisk-lab-22.10.1}"'],
                                capture_output=True, text=True).stdout.strip())
    binary = cache / "asterisk-22.10.1" / "bin" / "asterisk"
    if not binary.exists():
        return False
    done = subprocess.run([str(binary), "-V"], capture_output=True, timeout=30,
                          env={"LD_LIBRARY_PATH": str(binary.parent.parent / "lib")})
    return done.returncode == -4  # SIGILL


class Lab:
    """The shipped deploy/asterisk on a real Asterisk plus the phones instance.

    `ami_port` is the pbx's AMI for the router (user `router`, secret
    SECRET); `recordings` is where MixMonitor may write."""

    def __init__(self, workdir: Path, agents: dict[str, str], hold_limit: int | None = None,
                 without: tuple[str, ...] = (), prompts: bool = False, hold_tone: float = 0.0) -> None:
        if not LAB.exists():
            pytest.skip(f"no real Asterisk here: {LAB} is missing")
        self.workdir, self.agents, self.hold_limit, self.without = workdir, agents, hold_limit, without
        self.prompts = prompts
        self.hold_tone = hold_tone  # Hz of the hold music file (0: a silent one)
        self.ami_port, self.phones_ami_port = free_port(), free_port()
        self.sip, self.phones_sip = free_udp_port(), free_udp_port("127.0.0.2")
        self.recordings = workdir / "recordings"
        self.recordings.mkdir()
        self.pbx = Instance(workdir / "pbx-etc", workdir / "pbx")
        self.phones = Instance(workdir / "phones-etc", workdir / "phones")
        self.ami: Ami | None = None

    def _write_pbx(self) -> None:
        etc = self.pbx.etc
        etc.mkdir()
        for conf in ("extensions.conf", "queues.conf", "musiconhold.conf", "manager.conf"):
            shutil.copy(DEPLOY / conf, etc / conf)
        manager = (etc / "manager.conf").read_text(encoding="utf-8")
        assert "\nport = 5038\n" in manager, "deploy/asterisk/manager.conf no longer says port = 5038"
        (etc / "manager.conf").write_text(manager.replace("\nport = 5038\n", f"\nport = {self.ami_port}\n"),
                                          encoding="utf-8")
        # the secret the way a site writes it: the shipped install.sh
        subprocess.run(["bash", str(DEPLOY / "install.sh")], check=True, capture_output=True,
                       env={"PATH": "/usr/bin:/bin", "ROUTER_AMI_SECRET": SECRET, "ASTERISK_ETC": str(etc)})
        (etc / "modules.conf").write_text(modules_conf(self.without))
        pjsip = pbx_pjsip(self.sip, self.phones_sip, self.agents, self.hold_limit)
        (etc / "pjsip.conf").write_text(pjsip, encoding="utf-8")
        (etc / "voicemail.conf").write_text("[general]\nformat=wav\n[default]\n8900 => 1234,Fallback\n")
        data = self.pbx.state / "data"
        # the hold music: one file in the moh directory of the shipped musiconhold.conf
        silence(data / "moh" / ("music.wav" if self.hold_tone else "silence.wav"), 10 if self.hold_tone else 2,
                tone=self.hold_tone)
        # Asterisk's own prompts, as every site has them (VoiceMail() cannot
        # run without vm-theperson and the rest: it hangs the caller up)
        (data / "sounds").mkdir(parents=True, exist_ok=True)
        if CORE_SOUNDS.is_dir():
            (data / "sounds" / "en").symlink_to(CORE_SOUNDS)
        # Read() of a missing prompt returns at once: the survey needs one to wait on
        silence(data / "sounds" / "custom" / "zh" / "survey.wav", 4)
        silence(self.phones.state / "data" / "sounds" / "lab-agent-talks.wav", TALK, tone=440)
        # the pbx's log: warnings (a prompt that is not there) and the verbose
        # lines of Read() and Playback() that show what was played and keyed
        (etc / "logger.conf").write_text("[logfiles]\nmessages => notice,warning,error,verbose(3)\n")
        if self.prompts:
            for name, tone in IVR_PROMPTS.items():
                silence(data / "sounds" / f"{name}.wav", PROMPT, tone=tone)

    def _write_phones(self) -> None:
        etc = self.phones.etc
        etc.mkdir()
        (etc / "modules.conf").write_text(modules_conf())
        (etc / "pjsip.conf").write_text(phones_pjsip(self.phones_sip, self.sip, self.agents), encoding="utf-8")
        (etc / "extensions.conf").write_text(PHONES_DIALPLAN)
        (etc / "manager.conf").write_text(
            f"[general]\nenabled=yes\nbindaddr=127.0.0.1\nport={self.phones_ami_port}\n\n"
            "[lab]\nsecret=lab-secret\nread=all\nwrite=all\n")

    def __enter__(self) -> "Lab":
        self._write_pbx()
        self._write_phones()
        try:
            self.pbx.start()
            self.phones.start()
            self.wait_registered()
            self.ami = Ami(self.phones_ami_port, "lab", "lab-secret")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.ami:
            self.ami.close()
        self.phones.stop()
        self.pbx.stop()

    def wait_registered(self, timeout: float = 20) -> None:
        """Until every agent phone has a contact on the pbx."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            contacts = self.pbx.cli("pjsip show contacts")
            if all(f"{aid}/sip:{aid}@127.0.0.2" in contacts for aid in self.agents):
                return
            time.sleep(0.2)
        raise AssertionError(f"agent phones did not register:\n{contacts}")

    def call(self, dnis: str, name: str, number: str, talks: bool = False, heard: Path | None = None) -> None:
        """A caller on the trunk dials `dnis` (CallerID name and number as
        given); silent, or with `talks` saying a tone over and over (what a
        voicemail can record), or silent recording what they hear to `heard`
        (a WAV, written when the call ends)."""
        assert self.ami and not (talks and heard)
        context = "caller-talks" if talks else "caller-listens" if heard else "caller"
        extra = {"Variable": f"HEARD={heard}"} if heard else {}
        self.ami.action("Originate", Channel=f"PJSIP/{dnis}@pbx", Context=context, Exten="s", Priority="1",
                        CallerID=f'"{name}" <{number}>', Async="true", **extra)

    def feature(self, agent: str, code: str) -> None:
        """The agent dials a feature code (e.g. *41) from their phone."""
        assert self.ami
        self.ami.action("Originate", Channel=f"PJSIP/{code}@phone-{agent}", Context="feature", Exten="s",
                        Priority="1", Async="true")

    def phone(self, agent: str, ring: float | None = None, busy: bool = False, talk: float = 0) -> None:
        """From now on `agent`'s phone rings `ring` seconds before it answers
        (default RING) and talks `talk` seconds longer than TALK, or rejects
        the call as busy (486 Busy Here)."""
        assert self.ami
        self.ami.action("Setvar", Variable=f"TALK_{agent}", Value=str(talk) if talk else "")
        self.ami.action("Setvar", Variable=f"RING_{agent}", Value="" if ring is None else str(ring))
        self.ami.action("Setvar", Variable=f"PHONE_{agent}", Value="busy" if busy else "")

    def log(self) -> str:
        """The pbx's log so far (logger.conf above: notices, warnings, errors
        and verbose lines up to level 3)."""
        path = self.pbx.state / "log" / "messages"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def customer(self, number: str, reject: bool = False) -> None:
        """From now on the customer's mobile `number` (a 1[3-9]... number on
        the phones instance) refuses calls as an unknown number (`reject`),
        or answers them (the default)."""
        assert self.ami
        self.ami.action("Setvar", Variable=f"CUSTOMER_{number}", Value="reject" if reject else "")

    def caller_channels(self) -> list[str]:
        """The phones instance's caller channels (to the pbx's trunk), now."""
        out = self.phones.cli("core show channels concise")
        return [line.split("!")[0] for line in out.splitlines()
                if line.split("!")[1:2] in (["caller"], ["caller-talks"], ["caller-listens"])]

    def hang_up(self, channel: str) -> None:
        """The caller on `channel` (a caller_channels() name) hangs up."""
        assert self.ami
        self.ami.action("Hangup", Channel=channel)

    def dtmf(self, channel: str, digit: str) -> None:
        """The caller presses `digit` (RFC 4733 from the phones instance)."""
        assert self.ami
        self.ami.action("PlayDTMF", Channel=channel, Digit=digit, Duration="250")
