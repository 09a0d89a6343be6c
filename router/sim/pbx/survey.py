"""The satisfaction survey and recordings, as the simulated dialplan plays
them (deploy/asterisk/extensions.conf, router-agent and router-survey).

- An agent leg with `ROUTER_RECORDING` starts `MixMonitor(<path>,b)` before
  its `Bridge()`: the path is kept in the call's record (no file is written).
- An agent leg with `ROUTER_SURVEY=1` bridges with `F(router-survey^s^1)`:
  when the agent hangs up, the caller is not hung up but runs
  `router-survey`: `Read()` of one key; with probability `Behaviour.
  survey_rate` the caller presses a score, else lets the Read() time out.
  A score raises `UserEvent: RouterSurvey` (`Call`, `Score`) and is kept in
  the call's record, the ground truth a test compares the router's facts
  with. A caller who hangs up first is never surveyed.

Scores: an agent's fixed one (`PbxSimulator.set_survey`), else drawn around
the agent's own mean (each agent gets one, 2.5-5, on its first survey), so
agents differ as in a real centre. The draws use their own generator
(seeded from the simulator's seed), so turning surveys on changes no other
draw of a seeded run.
"""

from __future__ import annotations

import random

from router.sim.pbx.channels import Channel
from router.sim.pbx.world import World

ROUTER_SURVEY = "router-survey"
#: Simulated seconds of the prompt, and of the Read() timeout after it.
PROMPT = 3.0
READ_TIMEOUT = 5.0


class Surveys:
    def __init__(self, world: World, rng: random.Random) -> None:
        self.world = world
        self.rng = rng
        self.rate: float | None = None  # None: Behaviour.survey_rate
        self.fixed: dict[str, int] = {}  # agent id -> the score their callers give
        self._means: dict[str, float] = {}  # agent id -> drawn mean score
        self._pending: dict[str, str] = {}  # caller uniqueid -> agent id, while bridged with F()

    # -- router-agent
    def bridging(self, leg: Channel, caller: Channel, agent_id: str) -> str:
        """What the agent leg's dialplan does before Bridge(): MixMonitor,
        and the Bridge option (returned: "x" or the survey's F())."""
        w = self.world
        record = w.records[caller.call_id]
        path = leg.variables.get("ROUTER_RECORDING", "")
        if path:
            w.run_app(leg, "MixMonitor", f"{path},b", priority=3)
            # what Asterisk 22 sends when MixMonitor() starts (seen on a real one)
            w.chan_event("MixMonitorStart", leg)
            record.recording = path
        if leg.variables.get("ROUTER_SURVEY") == "1":
            self._pending[caller.uniqueid] = agent_id
            record.survey_offered = True
            return f"F({ROUTER_SURVEY}^s^1)"
        return "x"

    def takes(self, caller: Channel) -> bool:
        """The bridge ended by the agent's side: does the caller go on to
        the survey (else the dialplan hangs it up)? Starts it if so."""
        agent_id = self._pending.pop(caller.uniqueid, None)
        if agent_id is None or not caller.alive:
            return False
        w = self.world
        w.run_app(caller, "Answer", "", context=ROUTER_SURVEY, exten="s", priority=2)
        w.run_app(caller, "Read", "ROUTER_SCORE,custom/zh/survey,1,,1,5", priority=3)
        rate = w.behaviour.survey_rate if self.rate is None else self.rate
        if self.rng.random() < rate:
            delay = PROMPT + self.rng.uniform(0.5, 3.0)
            w.later(caller, "survey", delay, self._answer, caller, self._score(agent_id))
        else:
            w.later(caller, "survey", PROMPT + READ_TIMEOUT, self._done, caller)
        return True

    def forget(self, caller: Channel) -> None:
        """The caller hung up (or was taken away) while bridged: no survey."""
        self._pending.pop(caller.uniqueid, None)

    # -- router-survey
    def _score(self, agent_id: str) -> int:
        if agent_id in self.fixed:
            return self.fixed[agent_id]
        mean = self._means.get(agent_id)
        if mean is None:
            mean = self._means[agent_id] = self.rng.uniform(2.5, 5.0)
        return min(5, max(1, round(self.rng.gauss(mean, 0.9))))

    def _answer(self, caller: Channel, score: int) -> None:
        w = self.world
        w.set_var(caller, "ROUTER_SCORE", str(score))
        w.run_app(caller, "UserEvent", f"RouterSurvey,Call: {caller.uniqueid},Score: {score}", priority=6)
        w.chan_event("UserEvent", caller, ("UserEvent", "RouterSurvey"), ("Call", caller.uniqueid),
                     ("Score", str(score)), category="user")
        w.records[caller.call_id].survey = score
        self._done(caller)

    def _done(self, caller: Channel) -> None:
        w = self.world
        w.run_app(caller, "Playback", "auth-thankyou", priority=7)
        w.dialplan_hangup(caller)
