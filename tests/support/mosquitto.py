"""A real mosquitto broker for the tests, on a free loopback port, with the
project's ACL (deploy/mqtt/router.acl) and a password file of its own."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from support.paths import ROOT
from support.ports import free_port
from support.waiting import stop_process

ACL = ROOT / "deploy" / "mqtt" / "router.acl"
CONF = ROOT / "deploy" / "mqtt" / "router.conf"
#: Options of the shipped router.conf that name this machine's files or
#: ports: the test broker has its own.
LOCAL = {"password_file", "acl_file", "listener", "certfile", "keyfile", "persistence"}


def shipped_options() -> tuple[str, str]:
    """The shipped broker settings (deploy/mqtt/router.conf) but for its
    files and ports, so that the tests run with the same limits: (the global
    options, the options of its first listener, the loopback one)."""
    blocks: list[list[str]] = [[]]
    for line in CONF.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words and words[0] == "listener":
            blocks.append([])
        elif words and not words[0].startswith("#") and words[0] not in LOCAL:
            blocks[-1].append(line.strip())
    return "".join(f"{line}\n" for line in blocks[0]), "".join(f"{line}\n" for line in blocks[1])


#: username -> password of the test broker (agents are users named by agent id)
USERS = {"router": "router-pw", "supervisor": "super-pw", "wallboard": "wall-pw",
         "1001": "a1001", "1002": "a1002", "1005": "a1005", "1008": "a1008", "1014": "a1014"}


def make_certificates(workdir: Path) -> Path:
    """A throw-away CA and a server certificate for 127.0.0.1; returns the CA file."""
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=workdir, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=router test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1")
    (workdir / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "san.ext")
    return workdir / "ca.pem"


class Mosquitto:
    def __init__(self, workdir: Path, tls: bool = False) -> None:
        self.exe = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
        if self.exe is None:
            raise RuntimeError("mosquitto is not installed: scripts/setup.sh installs it (apt-get install mosquitto)")
        self.dir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        passwd = workdir / "passwd"
        passwd.write_text("")
        for user, password in USERS.items():
            subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password], check=True,
                           capture_output=True)
        passwd.chmod(0o600)
        self.ca = make_certificates(workdir) if tls else None
        common, local = shipped_options()
        listener = f"listener {self.port} 127.0.0.1\n{local}"
        if tls:
            listener += f"certfile {workdir / 'server.pem'}\nkeyfile {workdir / 'server.key'}\n"
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"{common}password_file {passwd}\nacl_file {ACL}\n"
            f"{listener}persistence false\nlog_dest file {workdir / 'mosquitto.log'}\n"
            "log_type all\n"
            # run as root (CI), mosquitto would switch to user "mosquitto",
            # who cannot read these files
            + (f"user {getpass.getuser()}\n" if os.geteuid() == 0 else ""))

    def start(self) -> None:
        with open(self.dir / "stderr", "wb") as err:
            self.proc = subprocess.Popen([self.exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                         stderr=err)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {(self.dir / 'stderr').read_text(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop_process(self.proc, 5)
        self.proc = None

    def log(self) -> str:
        path = self.dir / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""
