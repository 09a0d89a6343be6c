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


# -- Erlang A: the M/M/N+M queue, callers who give up --------------------------
#
# Callers abandon after an exponential patience (mean `patience`), so the
# queue is stable at any load (Garnett, Mandelbaum, Reiman, "Designing a
# call center with impatient customers", MSOM 4(3), 2002). The stationary
# distribution is a birth-death chain: p(k) ~ A^k/k! up to N, then each
# further caller in line multiplies by rate / (N/AHT + j/patience). An arrival
# sees it (PASTA); a caller with i others ahead then waits through a chain
# where the line ahead shrinks at N/AHT + i/patience, while their own patience
# runs at 1/patience. Solved numerically here (no closed forms with
# incomplete gamma functions, which lose precision), exact to about 1e-9.

_TAIL = 1e-13  # queue states less likely than this (relative) are left out


def _erlang_a_states(rate: float, aht: float, patience: float, agents: int) -> tuple[float, list[float]]:
    """(P(an agent is free on arrival), [P(i callers ahead on arrival)])."""
    mu, theta = 1.0 / aht, (1.0 / patience if patience != math.inf else 0.0)
    load = rate * aht
    logs = [k * math.log(load) - math.lgamma(k + 1) for k in range(agents + 1)] if load > 0 else [0.0]
    if load == 0:
        return 1.0, [0.0]
    queue = [logs[-1]]
    j = 0
    while True:  # terms fall once N/AHT + j/patience exceeds the arrival rate
        j += 1
        queue.append(queue[-1] + math.log(rate / (agents * mu + j * theta)))
        if queue[-1] < max(logs[-1], queue[0]) + math.log(_TAIL) and agents * mu + j * theta > rate:
            break
        if j > 1_000_000:
            raise ValueError("Erlang A: no steady state (callers never give up and the load is too high)")
    top = max(max(logs), max(queue))
    free = [math.exp(x - top) for x in logs[:-1]]
    ahead = [math.exp(x - top) for x in queue]
    # (a float start: compiled, `sum` of floats from the int 0 is refused)
    total = sum(free, 0.0) + sum(ahead, 0.0)
    return sum(free, 0.0) / total, [x / total for x in ahead]


def erlang_a(rate: float, aht: float, patience: float, agents: int, within: float) -> dict[str, float]:
    """The M/M/N+M queue at `rate` calls per second, exponential handle time
    (mean `aht` s), exponential patience (mean `patience` s; math.inf gives
    Erlang C) and `agents` agents. Returns fractions and seconds:
    p_wait, p_abandon, service_level (answered within `within` over all
    callers), asa (mean wait of the answered), mean_wait (over all callers)."""
    if rate < 0 or aht <= 0 or patience <= 0 or agents < 1 or within < 0:
        raise ValueError("need rate >= 0, aht > 0, patience > 0, agents >= 1 and within >= 0")
    free, ahead = _erlang_a_states(rate, aht, patience, agents)
    served_rate, theta = agents / aht, (1.0 / patience if patience != math.inf else 0.0)
    served = answered_wait = waited = 0.0
    s_prev = m_prev = t_prev = 0.0
    for i, p in enumerate(ahead):
        moves = served_rate + i * theta  # the line ahead of a caller with i ahead shrinks at this rate
        out = moves + theta
        if i == 0:
            s, m, t = served_rate / out, served_rate / out / out, 1.0 / out
        else:
            s = moves / out * s_prev
            m = s / out + moves / out * m_prev
            t = 1.0 / out + moves / out * t_prev
        served, answered_wait, waited = served + p * s, answered_wait + p * m, waited + p * t
        s_prev, m_prev, t_prev = s, m, t
    answered = free + served
    return {"p_wait": 1.0 - free, "p_abandon": 1.0 - answered,
            "service_level": free + _served_within(ahead, served_rate, theta, within),
            "asa": answered_wait / answered if answered else math.inf, "mean_wait": waited}


def _served_within(ahead: list[float], served_rate: float, theta: float, within: float) -> float:
    """P(a caller who finds i ahead, weighted by `ahead`, is answered
    within `within` s): uniformization of the caller's chain (positive terms
    only, so no cancellation)."""
    top = len(ahead) - 1
    uniform = served_rate + (top + 1) * theta
    step_total = uniform * within
    pieces = max(1, math.ceil(step_total / 50.0))  # keep exp(-L t) far from underflow
    dt = within / pieces
    v = list(ahead)
    done = 0.0
    lt = uniform * dt
    for _ in range(pieces):
        new_done = 0.0
        weight = math.exp(-lt)
        acc = weight
        cur, cur_done, k = v, 0.0, 0
        new_v = [weight * x for x in cur]
        while 1.0 - acc > 1e-15 and k < 10_000:
            k += 1
            nxt = [0.0] * len(cur)
            for i, x in enumerate(cur):
                if x:
                    out = served_rate + (i + 1) * theta
                    nxt[i] += x * (1.0 - out / uniform)
                    if i:
                        nxt[i - 1] += x * (served_rate + i * theta) / uniform
                    else:
                        cur_done += x * served_rate / uniform
            cur = nxt
            weight *= lt / k
            acc += weight
            new_done += weight * cur_done
            new_v = [a + weight * b for a, b in zip(new_v, cur)]
        v, done = new_v, done + new_done
    return done
