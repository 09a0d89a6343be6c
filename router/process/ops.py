"""Process plumbing for `router run` and `router reload`: signals, the pid
file, and the graceful-stop deadline.

Signals of a running router:
- SIGHUP: reload the config (router/runtime/reload.py); a bad config is logged and
  the running one kept.
- SIGTERM, SIGINT: graceful stop (no new offers, ringing legs finish or are
  hung up, waiting callers stay in the dialplan), then exit 0.
- From the first thing `router run` does (`hold_signals`) until the loop's
  handlers are in place, SIGHUP and SIGTERM are noted instead of killing
  the process (their default action); `install_signals` then acts on them.

`router reload --pid-file PATH` sends SIGHUP to the pid written by `router
run --pid-file PATH`; under systemd, `systemctl reload router` does the same
through `ExecReload=/bin/kill -HUP $MAINPID`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

from router.core.table import RoutingTable

log = logging.getLogger("router")

#: Real seconds past the longest ring timeout that a graceful stop waits.
DRAIN_MARGIN = 2.0


class PidFileError(Exception):
    """The pid file is missing, unreadable or names no running process."""


def write_pid_file(path: str) -> None:
    """Write our pid atomically (temp file + rename)."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{os.getpid()}\n", encoding="ascii")
    os.replace(tmp, target)


def remove_pid_file(path: str) -> None:
    """Remove the pid file if it is still ours (a newer router may own it)."""
    try:
        if Path(path).read_text(encoding="ascii").strip() == str(os.getpid()):
            Path(path).unlink()
    except (OSError, ValueError):
        pass


def read_pid(path: str) -> int:
    try:
        text = Path(path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise PidFileError(f"cannot read {path}: {getattr(err, 'strerror', None) or err}") from None
    if not text.isdigit() or int(text) <= 1:
        raise PidFileError(f"{path} does not hold a process id")
    return int(text)


def send_reload(path: str) -> int:
    """SIGHUP to the router whose pid is in `path`; returns that pid."""
    pid = read_pid(path)
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise PidFileError(f"no process {pid} (from {path}): is the router running?") from None
    except PermissionError:
        raise PidFileError(f"not allowed to signal process {pid} (from {path})") from None
    return pid


def drain_timeout(table: RoutingTable, speed: float = 1.0) -> float:
    """How long a graceful stop lets ringing legs ring (real seconds)."""
    longest = max((q.ring_timeout for q in table.queues.values()), default=0.0)
    return longest / speed + DRAIN_MARGIN


_HELD = (signal.SIGHUP, signal.SIGTERM)
_pending: set[int] = set()


def _note(signum, frame) -> None:
    _pending.add(signum)


def hold_signals() -> None:
    """Note SIGHUP and SIGTERM from now on instead of dying of them, until
    `install_signals` (a `systemctl reload` right after a start would
    otherwise kill the router: SIGHUP's default action)."""
    for sig in _HELD:
        try:
            signal.signal(sig, _note)
        except ValueError:  # not the main thread
            pass


def install_signals(stop: asyncio.Event, reload=None) -> None:
    """SIGINT/SIGTERM set `stop`; SIGHUP calls `reload()` if given. Signals
    noted since `hold_signals` are acted on now."""
    loop = asyncio.get_running_loop()
    handlers = [(signal.SIGINT, stop.set), (signal.SIGTERM, stop.set)]
    if reload is not None:
        handlers.append((signal.SIGHUP, reload))
    for sig, handler in handlers:
        try:
            loop.add_signal_handler(sig, handler)
        except (NotImplementedError, RuntimeError):  # not the main thread
            pass
    early = sorted(_pending)
    _pending.clear()
    for sig in early:
        if sig == signal.SIGTERM:
            log.info("a SIGTERM came while starting: stopping")
            loop.call_soon(stop.set)
        elif sig == signal.SIGHUP and reload is not None:
            log.info("a SIGHUP came while starting: reloading the config now")
            loop.call_soon(reload)


def remove_signals() -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            loop.remove_signal_handler(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
