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
import os
import tempfile
from pathlib import Path

from router.core import events as ev

log = logging.getLogger("router.state")

#: Agent states that mean "logged in"; everything else is logged out.
LOGGED_IN = {"available", "reserved", "on_call", "wrapup", "paused"}
#: Pause reasons that the router sets itself and that must not survive a restart.
TRANSIENT_REASONS = {"device-busy", "unreachable"}


def saved_state(data) -> tuple[str, str]:
    """(state, reason) to keep for an `agent.state` publish: a pause or
    logout asked for mid-call (`pending`) is what a restart must restore."""
    if data.get("pending"):
        return str(data["pending"]), str(data.get("pending_reason", ""))
    return str(data["state"]), str(data["reason"])


class AgentStateFile:
    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.states: dict[str, tuple[str, str]] = {}
        self.callbacks: dict[str, dict] = {}  # callback id -> its callback.promised data
        self.dirty = False

    def load(self) -> list:
        """Events that restore the saved agents (logins, then pauses)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            agents = data["agents"]
            self.states = {str(a): (str(s[0]), str(s[1])) for a, s in agents.items()}
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as err:
            log.warning("%s: cannot read saved agent states (%s); starting with everyone logged out",
                        self.path, err)
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
                out.append(ev.CallbackPromised(
                    str(cb_id), str(d["number"]), str(d["queue"]), int(d["priority"]), float(d["arrived"]),
                    attempts=int(d.get("attempts", 0)), caller_name=str(d.get("caller_name", "")),
                    dnis=str(d.get("dnis", "")), pbx=str(d.get("pbx", "")), origin=str(d.get("origin", "")),
                    skills=tuple((str(s), int(level)) for s, level in d.get("skills") or ()),
                    retry_at=float(d.get("retry_at") or 0.0)))
                self.callbacks[str(cb_id)] = dict(d)
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                # Never silently: this is a customer someone promised to call.
                log.error("%s: saved callback %s is unreadable (%s): %r", self.path, cb_id, err, d)
        return sorted(out, key=lambda e: e.arrived)

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
        if not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"version": 1, "agents": {a: list(s) for a, s in sorted(self.states.items())},
                              "callbacks": self.callbacks}, ensure_ascii=False, indent=1)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".agents-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
            os.replace(tmp, self.path)
            self.dirty = False
        except OSError as err:
            log.error("%s: cannot save agent states: %s", self.path, err)
            try:
                os.unlink(tmp)
            except OSError:
                pass
