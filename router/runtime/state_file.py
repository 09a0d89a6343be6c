"""Agents' login and pause state, and the callbacks the router owes, kept
in a small JSON file so that a restarted router knows who was logged in
(the PBX only reports the feature codes when they are dialled) and whom it
promised to call back (the PBX knows nothing of that). Everything else is
rebuilt from the PBX.

Written atomically (temp file + rename) at most once per `every` seconds,
and at stop; a missing or unreadable file means "nobody logged in", with a
warning, never a crash.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

from router.core import events as ev
from router.core import facts as f
from router.runtime.subscribers import by_type

log = logging.getLogger("router.runtime.state_file")

#: Agent states that mean "logged in"; everything else is logged out.
LOGGED_IN = {"available", "reserved", "on_call", "wrapup", "paused"}
#: Pause reasons that the router sets itself and that must not survive a restart.
TRANSIENT_REASONS = {"device-busy", "unreachable"}
#: Seconds between two "cannot save state" lines while saving keeps failing.
SAVE_ERROR_EVERY = 600.0


def saved_state(fact: f.AgentStateChanged) -> tuple[str, str]:
    """(state, reason) to keep for an agent's state change: a pause or
    logout asked for mid-call (`pending`) is what a restart must restore."""
    if fact.pending:
        return str(fact.pending), str(fact.pending_reason or "")
    return str(fact.state), str(fact.reason)




class AgentStateFile:
    """The file, and its subscriber `on_fact` (agent states and open
    callbacks); `on_dirty()` is called when a change waits to be saved."""

    def __init__(self, path: str | os.PathLike, on_dirty: Callable[[], None] | None = None) -> None:
        self.path = Path(path)
        self.on_dirty = on_dirty or (lambda: None)
        self.on_fact = by_type({f.AgentStateChanged: self._agent_changed,
                                **dict.fromkeys(f.CALLBACK_STATE, self._callback_changed)})
        self.states: dict[str, tuple[str, str]] = {}
        self.callbacks: dict[str, dict] = {}  # callback id -> its callback.promised data
        self.dirty = False
        self.save_failures = 0  # every failed save since start (router_state_save_failures_total)
        self._failing = 0  # failed saves in a row
        self._error_logged = 0.0
        self._copied: Path | None = None

    def load(self) -> list:
        """Events that restore the saved agents (logins, then pauses). A
        file that cannot be understood at all (bad JSON, nested too deep,
        the wrong shape) is logged and moved aside as `<name>.corrupt-<time>`;
        the router then starts from Asterisk's view, as after a first start."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as err:
            log.warning("%s: cannot read saved agent states (%s); starting with everyone logged out",
                        self.path, err.strerror or err)
            return []
        try:
            data = json.loads(raw.decode("utf-8"))
            agents = data["agents"]
            self.states = {str(a): (str(s[0]), str(s[1])) for a, s in agents.items()}
        except Exception as err:  # RecursionError and MemoryError too: no file may stop a start
            self.states = {}
            aside = self._move_aside()
            log.error("%s: cannot read saved agent states (%s: %s); %s; starting with everyone logged out",
                      self.path, type(err).__name__, str(err)[:200],
                      f"moved aside to {aside.name}" if aside else "could not move it aside")
            return []
        out: list = []
        for agent, (state, reason) in sorted(self.states.items()):
            if state in LOGGED_IN:
                out.append(ev.AgentLogin(agent))
                if state == "paused" and reason not in TRANSIENT_REASONS:
                    out.append(ev.AgentPause(agent, reason))
        return out + self._load_callbacks(data.get("callbacks", {}))

    def _load_callbacks(self, saved) -> list:
        out = []
        for cb_id, d in (saved.items() if isinstance(saved, dict) else ()):
            try:
                promise = ev.CallbackPromised(
                    str(cb_id), str(d["number"]), str(d["queue"]), int(d["priority"]), float(d["arrived"]),
                    attempts=int(d.get("attempts", 0)), caller_name=str(d.get("caller_name", "")),
                    dnis=str(d.get("dnis", "")), pbx=str(d.get("pbx", "")), origin=str(d.get("origin", "")),
                    skills=tuple((str(s), int(level)) for s, level in d.get("skills") or ()),
                    retry_at=float(d.get("retry_at") or 0.0))
                for name in ("arrived", "retry_at"):
                    if not math.isfinite(getattr(promise, name)):
                        raise ValueError(f"{name} {getattr(promise, name)} is not a finite number")
                out.append(promise)
                self.callbacks[str(cb_id)] = dict(d)
            except Exception as err:  # OverflowError (a priority of Infinity), RecursionError, ...
                # Never silently: this is a customer someone promised to call,
                # and the next save drops the entry: keep a copy of the file.
                copy = self._copy_aside()
                log.error("%s: saved callback %s is unreadable (%s: %s): %.300r%s", self.path, cb_id,
                          type(err).__name__, err, d, f"; the file is copied to {copy.name}" if copy else "")
        return sorted(out, key=lambda e: e.arrived)

    def _aside_path(self) -> Path:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        return target

    def _move_aside(self) -> Path | None:
        return self._aside(os.replace, "move")

    def _copy_aside(self) -> Path | None:
        if self._copied is None:
            self._copied = self._aside(shutil.copyfile, "copy")
        return self._copied

    def _aside(self, how, verb: str) -> Path | None:
        """Move or copy (`how`) the file to `<name>.corrupt-<time>`."""
        target = self._aside_path()
        try:
            how(self.path, target)
        except OSError as err:
            log.error("%s: cannot %s the unreadable file aside: %s", self.path, verb, err.strerror or err)
            return None
        return target

    def _agent_changed(self, fact: f.AgentStateChanged, now: float) -> None:
        self.record(fact.agent, *saved_state(fact))
        if self.dirty:
            self.on_dirty()

    def _callback_changed(self, fact: f.Fact, now: float) -> None:
        self.record_callback(f.CALLBACK_STATE[type(fact)], fact.data)
        if self.dirty:
            self.on_dirty()

    def record_callback(self, state: str, data) -> None:
        """Follow callback.<state> publishes: open ones are kept."""
        cb_id = str(data.get("call", ""))
        if state == "promised":
            self.callbacks[cb_id] = {k: data.get(k) for k in (
                "number", "queue", "priority", "arrived", "attempts", "caller_name", "dnis", "pbx", "origin",
                "skills", "retry_at")}
        elif state == "retry" and cb_id in self.callbacks:
            # (retry_at too: a restart must not re-dial a parked retry at once)
            self.callbacks[cb_id].update(attempts=data.get("attempts", 0), retry_at=data.get("retry_at"))
        elif state in ("done", "failed"):
            if self.callbacks.pop(cb_id, None) is None:
                return
        else:
            return
        self.dirty = True

    def record(self, agent: str, state: str, reason: str) -> None:
        if self.states.get(agent) != (state, reason):
            self.states[agent] = (state, reason)
            self.dirty = True

    def save(self) -> None:
        """Write the file if something changed. Never raises for a disk or
        directory problem: the states stay in memory (and `dirty`), the next
        change tries again, and the error is logged once when saving starts
        to fail, then at most every SAVE_ERROR_EVERY seconds with a count
        (`save_failures` counts every failed save, for the metrics)."""
        if not self.dirty:
            return
        payload = json.dumps({"version": 1, "agents": {a: list(s) for a, s in sorted(self.states.items())},
                              "callbacks": self.callbacks}, ensure_ascii=False, indent=1)
        tmp = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".agents-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
            os.replace(tmp, self.path)
        except OSError as err:
            self.save_failures += 1
            self._failing += 1
            now = time.monotonic()
            if self._failing == 1 or now - self._error_logged >= SAVE_ERROR_EVERY:
                self._error_logged = now
                log.error("%s: cannot save state: %s (%d failed save(s) in a row; kept in memory, retried "
                          "at the next change)", self.path, err.strerror or err, self._failing)
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            return
        self.dirty = False
        if self._failing:
            log.info("%s: state saved again after %d failed save(s)", self.path, self._failing)
            self._failing = 0
