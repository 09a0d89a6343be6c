"""Erlang B/C (router/core/erlang.py) against values worked by hand and
published tables, and its monotonicity properties."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from router.core import erlang


def direct_erlang_c(load: Fraction, n: int) -> Fraction:
    """The textbook formula, in exact rationals."""
    top = load ** n / math.factorial(n) * Fraction(n) / (n - load)
    return top / (sum(load ** k / math.factorial(k) for k in range(n)) + top)


def test_erlang_b_matches_the_published_table():
    # Erlang B tables: 10 E on 10 lines blocks 0.2146, 5 E on 10 lines 0.0184;
    # 2 E on 4 lines is 2/21 exactly (2^4/4! over 1+2+2+4/3+2/3).
    assert erlang.erlang_b(10, 10) == pytest.approx(0.21458, abs=1e-5)
    assert erlang.erlang_b(5, 10) == pytest.approx(0.01838, abs=1e-5)
    assert erlang.erlang_b(2, 4) == pytest.approx(2 / 21, rel=1e-12)


def test_erlang_c_worked_by_hand():
    # A=1, N=2: (1/2 * 2) / (1 + 1 + 1) = 1/3.  A=2, N=3: 4 / (5 + 4) = 4/9.
    assert erlang.erlang_c(1, 2) == pytest.approx(1 / 3, rel=1e-12)
    assert erlang.erlang_c(2, 3) == pytest.approx(4 / 9, rel=1e-12)


def test_the_call_centre_helper_worked_example():
    # 100 calls in 30 minutes, 180 s handle time: 10 Erlangs. Target 80% in
    # 20 s. Published: with 11 agents P(wait) 68.21%; 14 agents are needed
    # and give 88.84%.
    rate, aht = 100 / 1800, 180.0
    assert erlang.erlang_c(10, 11) == pytest.approx(0.6821, abs=5e-5)
    assert erlang.service_level(10, 13, aht, 20) < 0.8 < erlang.service_level(10, 14, aht, 20)
    assert erlang.service_level(10, 14, aht, 20) == pytest.approx(0.8884, abs=5e-5)
    assert erlang.required_agents(rate, aht, 0.8, 20) == 14
    assert erlang.average_speed_of_answer(10, 14, aht) == pytest.approx(0.1741 * 180 / 4, abs=0.05)


def test_unstable_and_empty_loads():
    assert erlang.erlang_c(5, 5) == 1.0 and erlang.service_level(5, 4, 60, 20) == 0.0
    assert erlang.average_speed_of_answer(5, 5, 60) == math.inf
    assert erlang.required_agents(0.0, 120, 0.8, 20) == 0
    assert erlang.required_agents(100.0, 100, 0.99, 0, limit=50) is None
    with pytest.raises(ValueError):
        erlang.required_agents(1.0, 0, 0.8, 20)


@given(st.integers(1, 60), st.integers(1, 120))
def test_recursion_equals_the_exact_formula(n, tenths):
    load = Fraction(tenths, 10)
    if load >= n:
        return
    assert erlang.erlang_c(float(load), n) == pytest.approx(float(direct_erlang_c(load, n)), rel=1e-9)


@given(st.floats(0.1, 50), st.integers(1, 80), st.floats(10, 600), st.floats(0, 120))
def test_more_agents_never_hurt_and_more_load_never_helps(load, n, aht, within):
    if n <= load:
        return
    sl, pw = erlang.service_level(load, n, aht, within), erlang.erlang_c(load, n)
    assert 0.0 <= pw <= 1.0 and 0.0 <= sl <= 1.0
    assert erlang.erlang_c(load, n + 1) <= pw + 1e-12
    assert erlang.service_level(load, n + 1, aht, within) >= sl - 1e-12
    assert erlang.service_level(load * 1.1, n, aht, within) <= sl + 1e-12


@given(st.floats(0.001, 0.5), st.floats(30, 400), st.floats(0.5, 0.95), st.floats(5, 60))
def test_required_agents_is_the_least_that_meets_the_target(rate, aht, target, within):
    n = erlang.required_agents(rate, aht, target, within)
    load = rate * aht
    assert n is not None and n > load
    assert erlang.service_level(load, n, aht, within) >= target
    assert n - 1 <= load or erlang.service_level(load, n - 1, aht, within) < target
    assert erlang.required_agents(rate * 1.5, aht, target, within) >= n
