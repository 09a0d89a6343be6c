"""The Kaplan–Meier patience estimator (router/whatif/km.py) against an
example worked by hand."""

from __future__ import annotations

import math
import random

import pytest

from router.whatif.km import draw_beyond, kaplan_meier, patience_dist

# 7 callers: abandoned at 10 s (1) and 20 s (2); answered at 10 s (1),
# 15 s (1) and 30 s (2), as (time, abandons, answered) and not in order.
EXAMPLE = [(30, 0, 2), (10, 1, 1), (20, 2, 0), (15, 0, 1)]


def test_the_curve_worked_by_hand():
    curve = kaplan_meier(EXAMPLE)
    # t=10: 7 at risk, 1 abandons: S = 6/7. The one answered at 10 s leaves
    # after it; 15 s: one answered (no step). t=20: 4 at risk, 2 abandon:
    # S = 6/7 * 2/4 = 3/7. The 2 answered at 30 s never show their patience.
    assert curve.times == (10.0, 20.0)
    assert curve.survival == pytest.approx((6 / 7, 3 / 7))
    assert (curve.calls, curve.events, curve.exposure) == (7, 3, 10 * 2 + 15 + 20 * 2 + 30 * 2)
    assert curve.at(9.9) == 1.0 and curve.at(10) == pytest.approx(6 / 7) and curve.at(25) == pytest.approx(3 / 7)
    assert curve.quantile(0.1) == 10.0 and curve.quantile(0.5) == 20.0
    assert curve.quantile(0.6) is None  # 3/7 of callers outlasted every observation


def test_the_naive_mean_of_abandons_would_make_callers_impatient():
    # mean of the abandons' waits: 50/3 = 16.7 s; but over half the callers
    # are still waiting at 20 s
    assert kaplan_meier(EXAMPLE).at(20) > 0.4


def test_a_patience_drawn_beyond_an_answered_wait():
    curve = kaplan_meier(EXAMPLE)
    # waited 15 s: S(15) = 6/7; u = 0.25 gives up where S <= 0.75 * 6/7 = 0.64: at 20 s
    assert draw_beyond(curve, 15, 0.25) == 20.0
    # u = 0.9: S <= 0.6/7, below the curve's end (3/7): the exponential tail of
    # mean exposure / abandons = 135 / 3 = 45 s from 20 s: 20 + 45 ln((3/7) / (0.6/7)) = 20 + 45 ln 5
    assert draw_beyond(curve, 15, 0.9) == pytest.approx(20 + 45 * math.log(5))
    # waited past the curve (40 s): the tail from the wait itself
    assert draw_beyond(curve, 40, 0.5) == pytest.approx(40 + 45 * math.log(2))
    rng = random.Random(3)
    assert all(draw_beyond(curve, 25, rng.random()) > 25 for _ in range(200))
    assert draw_beyond(kaplan_meier([(30, 0, 5)]), 30, 0.5) == math.inf  # nobody ever abandoned


def test_the_empirical_patience_of_a_profile():
    dist = patience_dist(kaplan_meier(EXAMPLE), values=4)
    # levels 1/8, 3/8 from the curve; 5/8 and 7/8 beyond it: 20 + 45 ln((3/7) / (1 - p))
    assert dist.kind == "empirical"
    assert dist.values == pytest.approx((10.0, 20.0, 20 + 45 * math.log((3 / 7) / 0.375),
                                         20 + 45 * math.log((3 / 7) / 0.125)))
    assert patience_dist(kaplan_meier([(12, 0, 3)])).kind == "never"
