"""Erlang C: the M/M/N queue that staffing tools use for call centres.

With offered load A = arrival rate x mean handle time (in Erlangs) and N
agents (N > A, else the queue grows without bound):

    P(wait) = [A^N/N! . N/(N-A)] / [sum_{k<N} A^k/k! + A^N/N! . N/(N-A)]
    SL(t)   = 1 - P(wait) . exp(-(N-A) . t / AHT)
    ASA     = P(wait) . AHT / (N-A)

(Gans, Koole, Mandelbaum, "Telephone Call Centers", MSOM 5(2), 2003.)
P(wait) is computed through the Erlang B recursion, which never forms A^N or
N! and so stays exact in floating point for thousands of agents.

Pure functions, no state.
"""

from __future__ import annotations

import math

#: Upper bound for `required_agents`: a search that reaches it gives up.
MAX_AGENTS = 10_000
#: The highest target `required_agents` aims at. In Erlang C no number of
#: agents answers 100% within a finite time: a search for 1.0 stops wherever
#: floating point happens to round the service level up to 1.0, i.e. at an
#: arbitrary count. A 100% target is read as this one.
MAX_TARGET = 0.999


def erlang_b(load: float, agents: int) -> float:
    """Blocking probability of N servers with no queue (Erlang B)."""
    if load < 0 or agents < 0:
        raise ValueError("load and agents must be >= 0")
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(load: float, agents: int) -> float:
    """Probability that a caller has to wait (Erlang C); 1.0 when N <= A."""
    if agents <= load:
        return 1.0
    b = erlang_b(load, agents)
    return agents * b / (agents - load * (1.0 - b))


def service_level(load: float, agents: int, aht: float, within: float) -> float:
    """Fraction of callers answered within `within` seconds (0..1)."""
    if agents <= load:
        return 0.0
    if aht <= 0:
        raise ValueError("aht must be > 0")
    return 1.0 - erlang_c(load, agents) * math.exp(-(agents - load) * within / aht)


def average_speed_of_answer(load: float, agents: int, aht: float) -> float:
    """Mean wait over all callers in seconds; infinite when N <= A."""
    if agents <= load:
        return math.inf
    return erlang_c(load, agents) * aht / (agents - load)


def required_agents(rate: float, aht: float, target: float, within: float,
                    limit: int = MAX_AGENTS) -> int | None:
    """Fewest agents for which `service_level` >= target (a fraction 0..1)
    at `rate` calls per second and `aht` seconds of handle time. 0 when there
    is no load; None when even `limit` agents would not do. A target above
    MAX_TARGET (100%) is taken as MAX_TARGET."""
    if rate < 0 or aht <= 0 or not 0 <= target <= 1:
        raise ValueError("need rate >= 0, aht > 0 and 0 <= target <= 1")
    target = min(target, MAX_TARGET)
    load = rate * aht
    if load == 0:
        return 0
    agents = max(1, math.floor(load) + 1)
    while agents <= limit:
        if service_level(load, agents, aht, within) >= target:
            return agents
        agents += 1
    return None
