"""Example-based tests of classification (router/core/classify.py), opening
hours (router/core/calendar.py) and number patterns (router/core/patterns.py).
Pure: tables are built with tests/tables.py, instants are real epoch seconds.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from router.core.calendar import is_open
from router.core.classify import classify, why_not
from router.core.events import CallWaiting
from router.core.patterns import compile_pattern
from router.core.table import Calendar, Match, RoutingTable
from support.tables import agent, queue, req, rule, step, table

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def local(tz: str, y: int, mo: int, d: int, h: int, mi: int = 0) -> float:
    """Epoch seconds of a wall-clock time in zone `tz`."""
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(tz)).timestamp()


def sh(y: int, mo: int, d: int, h: int, mi: int = 0) -> float:
    return local("Asia/Shanghai", y, mo, d, h, mi)


def hm(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


BUSINESS = Calendar(
    "business", "Asia/Shanghai",
    tuple((d, hm("08:30"), hm("20:00")) for d in (MON, TUE, WED, THU, FRI))
    + ((SAT, hm("09:00"), hm("12:00")), (SAT, hm("13:00"), hm("17:00"))),
    frozenset({date(2026, 10, 1), date(2026, 10, 2)}),
)

# 2026-03-02 is a Monday.
MON_21H = 1772456400.0  # Shanghai 21:00 = 13:00 UTC
MON_09H = 1772413200.0  # Shanghai 09:00 = 01:00 UTC


def pats(*texts: str) -> tuple:
    return tuple(compile_pattern(t) for t in texts)


# ---------------------------------------------------------------- patterns


@pytest.mark.parametrize("pattern, value, matches", [
    # exact
    ("4008001234", "4008001234", True),
    ("4008001234", "40080012345", False),
    ("4008001234", "400800123", False),
    ("+8613800001111", "+8613800001111", True),
    ("1.2", "1x2", False),  # no regex leaks through
    # prefix*
    ("+86138*", "+8613812345678", True),
    ("+86138*", "+86138", True),  # even an empty suffix
    ("+86138*", "+86139000", False),
    ("+86138*", "086138000", False),  # a prefix, not a substring
    ("*", "*", True),  # a lone * is exact text
    ("*", "123", False),
    # Asterisk patterns
    ("_4008002XXX", "4008002123", True),
    ("_4008002XXX", "400800212", False),
    ("_4008002XXX", "40080021234", False),
    ("_4008002XXX", "400800212a", False),
    ("_X.", "1", False),  # . is one or more
    ("_X.", "12", True),
    ("_X.", "1abc", True),
    ("_X!", "1", True),  # ! is zero or more
    ("_X!", "12345", True),
    ("_Z", "0", False),
    ("_Z", "1", True),
    ("_N", "1", False),
    ("_N", "2", True),
    ("_NXX", "200", True),
    ("_nxx", "200", True),  # x, z, n lower case too, as in Asterisk
    ("_[15-7]X", "10", True),
    ("_[15-7]X", "60", True),
    ("_[15-7]X", "40", False),
    ("_9X", "91", True),
    ("_9X", "9", False),
    ("_+86.", "+8613800001111", True),
    ("_+86.", "8613800001111", False),
    ("_*XX", "*12", True),
])
def test_pattern_forms(pattern, value, matches):
    assert compile_pattern(pattern).matches(value) is matches


@pytest.mark.parametrize("text, message", [
    ("", "empty pattern"),
    ("_", "'_' must be followed by a pattern"),
    ("_1[23", "unclosed '[' at position 2"),
    ("_1[]", "empty '[]' at position 2"),
    ("12\n3", "control character in pattern"),
])
def test_bad_patterns_are_rejected_with_a_reason(text, message):
    with pytest.raises(ValueError) as info:
        compile_pattern(text)
    assert str(info.value) == message


def test_pattern_keeps_its_text():
    assert compile_pattern("_4008002XXX").text == "_4008002XXX"


# --------------------------------------------------------------- calendars


def test_epoch_constants_are_the_shanghai_times_they_claim():
    assert sh(2026, 3, 2, 21) == MON_21H and sh(2026, 3, 2, 9) == MON_09H
    assert datetime.fromtimestamp(MON_21H, ZoneInfo("UTC")).hour == 13


def test_calendar_uses_its_own_time_zone_not_utc():
    # 13:00 UTC Monday would be open in UTC; it is 21:00 in Shanghai: closed.
    assert is_open(BUSINESS, MON_21H) is False
    # 01:00 UTC Monday would be closed in UTC; it is 09:00 in Shanghai: open.
    assert is_open(BUSINESS, MON_09H) is True


def test_calendar_local_weekday_decides_not_the_utc_weekday():
    saturday = Calendar("saturday", "Asia/Shanghai", ((SAT, 0, 1440),))
    # Saturday 2026-03-07 03:00 in Shanghai is still Friday 19:00 UTC: open.
    sat_early = sh(2026, 3, 7, 3)
    assert datetime.fromtimestamp(sat_early, ZoneInfo("UTC")).weekday() == FRI
    assert is_open(saturday, sat_early) is True
    # Sunday 2026-03-08 03:00 in Shanghai is still Saturday 19:00 UTC: closed.
    sun_early = sh(2026, 3, 8, 3)
    assert datetime.fromtimestamp(sun_early, ZoneInfo("UTC")).weekday() == SAT
    assert is_open(saturday, sun_early) is False


@pytest.mark.parametrize("h, mi, expected", [
    (8, 29, False), (8, 30, True), (19, 59, True), (20, 0, False), (20, 1, False),
])
def test_calendar_open_minute_inclusive_close_minute_exclusive(h, mi, expected):
    assert is_open(BUSINESS, sh(2026, 3, 4, h, mi)) is expected  # a Wednesday


def test_calendar_last_second_before_close_is_open():
    assert is_open(BUSINESS, sh(2026, 3, 4, 20) - 1) is True


@pytest.mark.parametrize("h, mi, expected", [
    (8, 59, False), (9, 0, True), (11, 59, True), (12, 0, False), (12, 30, False),
    (13, 0, True), (16, 59, True), (17, 0, False),
])
def test_calendar_several_periods_in_one_day(h, mi, expected):
    assert is_open(BUSINESS, sh(2026, 3, 7, h, mi)) is expected  # a Saturday


def test_calendar_day_without_periods_is_closed():
    assert is_open(BUSINESS, sh(2026, 3, 8, 12)) is False  # Sunday


def test_calendar_holiday_closes_the_whole_day():
    assert is_open(BUSINESS, sh(2026, 10, 1, 10)) is False  # a Thursday, a holiday
    assert is_open(BUSINESS, sh(2026, 10, 2, 10)) is False
    assert is_open(BUSINESS, sh(2026, 10, 5, 10)) is True  # the Monday after
    assert is_open(BUSINESS, sh(2026, 9, 30, 10)) is True  # the Wednesday before


def test_calendar_holiday_is_the_local_date():
    always = Calendar("always", "Asia/Shanghai", tuple((d, 0, 1440) for d in range(7)),
                      frozenset({date(2026, 10, 1)}))
    # 2026-09-30 16:30 UTC is already 2026-10-01 00:30 in Shanghai: a holiday.
    instant = sh(2026, 10, 1, 0, 30)
    assert datetime.fromtimestamp(instant, ZoneInfo("UTC")).date() == date(2026, 9, 30)
    assert is_open(always, instant) is False
    # 2026-10-01 23:30 UTC is 2026-10-02 07:30 in Shanghai: no longer a holiday.
    assert is_open(always, sh(2026, 10, 2, 7, 30)) is True


def test_calendar_24_00_means_open_until_midnight():
    late = Calendar("late", "Asia/Shanghai", ((MON, hm("18:00"), hm("24:00")),))
    assert is_open(late, sh(2026, 3, 2, 23, 59)) is True
    assert is_open(late, sh(2026, 3, 3, 0, 0) - 1) is True
    assert is_open(late, sh(2026, 3, 3, 0, 0)) is False  # Tuesday: not listed
    assert is_open(late, sh(2026, 3, 2, 17, 59)) is False


def test_calendar_all_day_00_00_to_24_00():
    allday = Calendar("allday", "Europe/London", ((SUN, 0, 1440),))
    assert is_open(allday, local("Europe/London", 2026, 3, 8, 0, 0)) is True
    assert is_open(allday, local("Europe/London", 2026, 3, 8, 23, 59)) is True
    assert is_open(allday, local("Europe/London", 2026, 3, 9, 0, 0)) is False


def test_calendar_hours_follow_daylight_saving_time():
    ny = Calendar("ny", "America/New_York", tuple((d, hm("09:00"), hm("17:00")) for d in range(5)))
    winter = local("America/New_York", 2026, 1, 14, 9)  # EST: 14:00 UTC
    summer = local("America/New_York", 2026, 7, 15, 9)  # EDT: 13:00 UTC
    assert datetime.fromtimestamp(winter, ZoneInfo("UTC")).hour == 14
    assert datetime.fromtimestamp(summer, ZoneInfo("UTC")).hour == 13
    assert is_open(ny, winter) and is_open(ny, summer)
    assert not is_open(ny, winter - 60) and not is_open(ny, summer - 60)


# ----------------------------------------------------------- classification


def _table() -> RoutingTable:
    general = queue("general", step(0, req(general=1)))
    vip = queue("vip", step(0, req(vip=1)), priority=50)
    sales = queue("sales", step(0, req(sales=3)), priority=10)
    night = queue("night", step(0, req(general=1)))
    rules = [
        rule("vip-gold", vip, Match(dnis=pats("4008001234", "_4008002XXX"), caller=pats("+86138*"),
                                    vars=(("tier", ("gold",)), ("lang", ("yue", "zh"))))),
        rule("hotline", sales, Match(dnis=pats("_400800XXXX"))),
        rule("day-sales", sales, Match(dnis=pats("8000"), in_hours="business"), priority=20,
             skills=(("mandarin", 5),)),
        rule("night", night, Match(out_of_hours="business")),
    ]
    tbl = table([agent("a1", general=1, vip=1, sales=3, mandarin=5)], [general, vip, sales, night],
                rules, default="general")
    return replace(tbl, calendars=RoutingTable.freeze({"business": BUSINESS}))


TABLE = _table()
GOLD_VARS = (("tier", "gold"), ("lang", "yue"))


def call(dnis: str = "", caller: str = "", variables: tuple = ()) -> CallWaiting:
    return CallWaiting("c1", dnis=dnis, caller_num=caller, variables=variables)


def test_first_matching_rule_wins():
    # vip-gold and hotline both match: the earlier rule wins.
    gold = call("4008001234", "+8613800001111", GOLD_VARS)
    assert why_not(TABLE.rules[1].match, gold, dict(GOLD_VARS), TABLE, MON_09H) is None
    assert classify(TABLE, gold, MON_09H).name == "vip-gold"


def test_rule_failing_one_condition_falls_through_to_the_next():
    not_gold = call("4008001234", "+8613900001111", GOLD_VARS)  # caller is not +86138*
    assert classify(TABLE, not_gold, MON_09H).name == "hotline"


def test_asterisk_dnis_pattern_selects_the_rule():
    assert classify(TABLE, call("4008002999", "+8613800001111", GOLD_VARS), MON_09H).name == "vip-gold"
    assert classify(TABLE, call("4008003999", "+8613800001111", GOLD_VARS), MON_09H).name == "hotline"


def test_default_when_no_rule_matches():
    result = classify(TABLE, call("5555"), MON_09H)  # in hours: night does not match either
    assert result is TABLE.default
    assert (result.name, result.queue) == ("default", "general")


def test_vars_any_of_the_values_matches():
    zh = (("tier", "gold"), ("lang", "zh"))
    assert classify(TABLE, call("4008001234", "+8613800001111", zh), MON_09H).name == "vip-gold"


def test_vars_every_var_must_match():
    en = (("tier", "gold"), ("lang", "en"))
    assert classify(TABLE, call("4008001234", "+8613800001111", en), MON_09H).name == "hotline"
    only_tier = (("tier", "gold"),)
    assert classify(TABLE, call("4008001234", "+8613800001111", only_tier), MON_09H).name == "hotline"


def test_vars_compare_exact_text():
    gold_upper = (("tier", "Gold"), ("lang", "yue"))
    assert classify(TABLE, call("4008001234", "+8613800001111", gold_upper), MON_09H).name == "hotline"


def test_in_hours_rule_matches_only_while_the_calendar_is_open():
    assert classify(TABLE, call("8000"), MON_09H).name == "day-sales"
    assert classify(TABLE, call("8000"), MON_21H).name == "night"


def test_out_of_hours_rule_matches_only_while_the_calendar_is_closed():
    assert classify(TABLE, call("5555"), MON_21H).name == "night"
    assert classify(TABLE, call("5555"), sh(2026, 10, 1, 10)).name == "night"  # holiday
    assert classify(TABLE, call("5555"), MON_09H).name == "default"


def test_classified_rule_carries_its_queue_priority_and_merged_skills():
    result = classify(TABLE, call("8000"), MON_09H)
    assert (result.queue, result.priority, result.skills) == ("sales", 20, (("mandarin", 5),))
    assert result.steps[0].requirements[0].skills == (("mandarin", 5), ("sales", 3))


def test_later_duplicate_variable_wins():
    dup = (("tier", "silver"), ("lang", "yue"), ("tier", "gold"))
    assert classify(TABLE, call("4008001234", "+8613800001111", dup), MON_09H).name == "vip-gold"


# ------------------------------------------------------------------ why_not


def _why(rule_index: int, c: CallWaiting, now: float = MON_09H) -> str | None:
    return why_not(TABLE.rules[rule_index].match, c, dict(c.variables), TABLE, now)


def test_why_not_dnis():
    assert _why(0, call("5555")) == "dnis '5555' matches none of ['4008001234', '_4008002XXX']"


def test_why_not_caller():
    assert _why(0, call("4008001234", "+8613900001111")) == \
        "caller '+8613900001111' matches none of ['+86138*']"


def test_why_not_missing_var():
    assert _why(0, call("4008001234", "+8613800001111")) == "var tier=None is not one of ['gold']"


def test_why_not_wrong_var_value():
    c = call("4008001234", "+8613800001111", (("tier", "gold"), ("lang", "en")))
    assert _why(0, c) == "var lang='en' is not one of ['yue', 'zh']"


def test_why_not_in_hours():
    assert _why(2, call("8000"), MON_21H) == "calendar business is closed"


def test_why_not_out_of_hours():
    assert _why(3, call("5555"), MON_09H) == "calendar business is open"


def test_why_not_reports_the_first_failing_condition_in_order():
    # Fails dnis, caller and vars: dnis is reported.
    assert _why(0, call("1", "2")).startswith("dnis ")


def test_why_not_none_when_every_condition_holds():
    assert _why(0, call("4008001234", "+8613800001111", GOLD_VARS)) is None
    assert _why(2, call("8000"), MON_09H) is None


# ------------------------------------------------ the hot path's shortcuts


def _first_by_why_not(tbl: RoutingTable, c: CallWaiting, now: float):
    """The definition: the first rule `why_not` finds nothing against."""
    values = dict(c.variables)
    return next((r for r in tbl.rules if why_not(r.match, c, values, tbl, now) is None), tbl.default)


def test_classify_keeps_candidates_per_dnis_and_variables_but_checks_caller_and_hours_per_call():
    """Same dnis and variables, other caller or other time: the kept
    candidates must not carry over the first call's caller or instant."""
    import random
    rng = random.Random(7)
    dnises = ["4008001234", "4008002999", "4008003999", "8000", "5555"]
    callers = ["+8613800001111", "+8613900001111", ""]
    varsets = [(), GOLD_VARS, (("tier", "gold"), ("lang", "en")), (("tier", "Gold"), ("lang", "yue")),
               (("tier", "silver"), ("lang", "yue"), ("tier", "gold"))]
    instants = [MON_09H, MON_21H, sh(2026, 10, 1, 10), sh(2026, 3, 7, 12, 30), sh(2026, 3, 7, 13)]
    seen = set()
    for _ in range(2000):
        c = call(rng.choice(dnises), rng.choice(callers), rng.choice(varsets))
        now = rng.choice(instants) + rng.uniform(-120, 120)
        got = classify(TABLE, c, now)
        assert got is _first_by_why_not(TABLE, c, now), (c, now)
        seen.add(got.name)
    assert seen == {"vip-gold", "hotline", "day-sales", "night", "default"}


def test_classify_takes_variables_not_given_as_a_tuple():
    c = CallWaiting("c1", dnis="4008001234", caller_num="+8613800001111", variables=[("tier", "gold"), ("lang", "yue")])
    assert classify(TABLE, c, MON_09H).name == "vip-gold"


def test_classify_follows_a_new_table_of_the_same_shape():
    """A reload's table: candidates kept for the old one do not apply."""
    c = call("4008003999", "+8613800001111")
    assert classify(TABLE, c, MON_09H).name == "hotline"
    fewer = replace(TABLE, rules=(TABLE.rules[0],) + TABLE.rules[2:])
    assert classify(fewer, c, MON_09H) is fewer.default


def _open_by_definition(cal: Calendar, now: float) -> bool:
    local_time = datetime.fromtimestamp(now, ZoneInfo(cal.timezone))
    minute = local_time.hour * 60 + local_time.minute
    return local_time.date() not in cal.holidays and any(
        d == local_time.weekday() and a <= minute < b for d, a, b in cal.weekly)


def test_is_open_keeps_one_answer_per_local_minute_and_is_right_at_every_instant():
    """Walked in uneven steps across opening and closing minutes, a holiday
    and both daylight-saving changes, two calendars interleaved: the kept
    answer is never used outside its minute."""
    ny = Calendar("ny", "America/New_York", tuple((d, hm("01:30"), hm("02:30")) for d in range(7))
                  + tuple((d, hm("09:00"), hm("17:00")) for d in range(5)), frozenset({date(2026, 11, 2)}))
    starts = [local("America/New_York", 2026, 3, 8, 1, 50), local("America/New_York", 2026, 11, 1, 0, 50),
              sh(2026, 3, 2, 8, 25), sh(2026, 9, 30, 19, 55), local("America/New_York", 2026, 11, 2, 8, 58)]
    checked = {True: 0, False: 0}
    for start in starts:
        t = start
        while t < start + 3 * 3600:
            for cal in (ny, BUSINESS):
                expected = _open_by_definition(cal, t)
                assert is_open(cal, t) is expected, (cal.name, t)
                checked[expected] += 1
            t += 7.3 if int(t) % 600 < 300 else 59.9996
    assert checked[True] > 100 and checked[False] > 100
