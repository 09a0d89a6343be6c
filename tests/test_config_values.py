"""The strict value parsers: accepted forms, rejected forms, exact messages."""

from datetime import date

import pytest

from router.config import values
from router.config.errors import Problem, did_you_mean, quote


def rejects(parse, text: str) -> str:
    with pytest.raises(ValueError) as info:
        parse(text)
    return str(info.value)


@pytest.mark.parametrize("text, seconds", [
    ("0", 0), ("20", 20), ("20s", 20), ("2m", 120), ("1m30s", 90), ("1h", 3600),
    ("1h30m", 5400), ("1h2m3s", 3723), ("90m", 5400), ("0s", 0), ("24h", 86400),
])
def test_duration_accepted(text, seconds):
    assert values.parse_duration(text) == seconds
    assert isinstance(values.parse_duration(text), float)


@pytest.mark.parametrize("text, message", [
    ("1:30", "'1:30' is not a duration; write 90s or 1m30s"),
    ("0:45", "'0:45' is not a duration; write 45s"),
    ("1:00:00", "'1:00:00' is not a duration; write 3600s or 1h"),
    ("-5s", "'-5s' is not a duration; it cannot be negative"),
    ("-5", "'-5' is not a duration; it cannot be negative"),
    ("20 sec", "'20 sec' is not a duration; write 20s"),
    ("1 min 30 seconds", "'1 min 30 seconds' is not a duration; write 1m30s"),
    ("2 hours", "'2 hours' is not a duration; write 2h"),
    ("20S", "'20S' is not a duration; write 20s"),
    ("1.5", "'1.5' is not a duration; use whole numbers, e.g. 1m30s rather than 1.5m"),
    ("1.5m", "'1.5m' is not a duration; use whole numbers, e.g. 1m30s rather than 1.5m"),
    ("on", "'on' is not a duration; write seconds like 20 or 20s, or 2m, 1m30s, 1h"),
    ("", "'' is not a duration; write seconds like 20 or 20s, or 2m, 1m30s, 1h"),
    ("30s1m", "'30s1m' is not a duration; write seconds like 20 or 20s, or 2m, 1m30s, 1h"),
    ("25h", "'25h' is too long; a duration is at most 24h"),
])
def test_duration_rejected(text, message):
    assert rejects(values.parse_duration, text) == message


@pytest.mark.parametrize("text, percent", [
    ("80%", 80.0), ("80", 80.0), ("100%", 100.0), ("99.5%", 99.5), ("0.5%", 0.5), ("1", 1.0),
])
def test_percent_accepted(text, percent):
    assert values.parse_percent(text) == percent


@pytest.mark.parametrize("text, message", [
    ("0.8", "'0.8' is not a percent; write 80% for 80 percent"),
    ("0.955", "'0.955' is not a percent; write 95.5% for 95.5 percent"),
    ("1.0", "'1.0' is not a percent; write 100% for 100 percent"),
    ("0%", "'0%' is out of range; a percent must be more than 0 and at most 100"),
    ("120%", "'120%' is out of range; a percent must be more than 0 and at most 100"),
    ("-5%", "'-5%' is not a percent; write e.g. 80%"),
    ("80 %", "'80 %' is not a percent; write e.g. 80%"),
    ("on", "'on' is not a percent; write e.g. 80%"),
])
def test_percent_rejected(text, message):
    assert rejects(values.parse_percent, text) == message


def test_level():
    assert [values.parse_level(t) for t in ("1", "7", "10", "08")] == [1, 7, 10, 8]
    assert rejects(values.parse_level, "0") == "'0' is out of range; a level is a whole number from 1 to 10"
    assert rejects(values.parse_level, "11") == "'11' is out of range; a level is a whole number from 1 to 10"
    assert rejects(values.parse_level, "high") == "'high' is not a level; write a whole number from 1 to 10"
    assert rejects(values.parse_level, "7.5") == "'7.5' is not a level; write a whole number from 1 to 10"
    assert rejects(values.parse_level, "on") == "'on' is not a level; write a whole number from 1 to 10"


def test_priority():
    assert [values.parse_priority(t) for t in ("0", "50", "100")] == [0, 50, 100]
    span = "a priority is a whole number from 0 to 100"
    assert rejects(values.parse_priority, "-1") == f"'-1' is out of range; {span}"
    assert rejects(values.parse_priority, "101") == f"'101' is out of range; {span}"
    assert rejects(values.parse_priority, "yes") == "'yes' is not a priority; write a whole number from 0 to 100"


def test_count():
    misses = values.count_parser(0, 100)
    assert misses("0") == 0 and misses("3") == 3
    assert rejects(misses, "3.5") == "'3.5' is not a whole number; write a whole number from 0 to 100"
    assert rejects(misses, "ten") == "'ten' is not a whole number; write a whole number from 0 to 100"
    assert rejects(misses, "off") == ("'off' is not a whole number; write 0 to turn this off, "
                                      "or a whole number from 0 to 100")
    assert rejects(misses, "101") == "'101' is out of range; write a whole number from 0 to 100"
    waiting = values.count_parser(1, 100_000)
    assert rejects(waiting, "0") == "'0' is out of range; write a whole number from 1 to 100000"
    # 0 is not allowed there, so "off" gets no "write 0" hint
    assert rejects(waiting, "no") == "'no' is not a whole number; write a whole number from 1 to 100000"


@pytest.mark.parametrize("text", ["sales", "sales-a", "tier_1", "v1.2", "1001", "no", "on", "yes", "a" * 64])
def test_name_accepted(text):
    assert values.parse_name(text) == text


@pytest.mark.parametrize("text, message", [
    ("sales desk", "'sales desk' is not a valid name; use only letters, digits, '_', '-' and '.' (no spaces)"),
    ("-x", "'-x' is not a valid name; a name must start with a letter or digit"),
    ("_x", "'_x' is not a valid name; a name must start with a letter or digit"),
    ("a/b", "'a/b' is not a valid name; use only letters, digits, '_', '-' and '.'"),
    ("销售", "'销售' is not a valid name; use only letters, digits, '_', '-' and '.' "
             "(other text belongs in a title or description)"),
    ("a" * 65, f"'{'a' * 57}...' is too long for a name (65 characters; at most 64)"),
    ("", "a name cannot be empty"),
])
def test_name_rejected(text, message):
    assert rejects(values.parse_name, text) == message


def test_time_of_day():
    assert values.parse_time("00:00") == 0
    assert values.parse_time("08:30") == 510
    assert values.parse_time("24:00") == 1440
    assert rejects(values.parse_time, "9am") == "'9am' is not a time of day; write HH:MM (24-hour), e.g. 09:00"
    assert rejects(values.parse_time, "5pm") == "'5pm' is not a time of day; write HH:MM (24-hour), e.g. 17:00"
    assert rejects(values.parse_time, "9:00") == "'9:00' is not a time of day; write HH:MM (24-hour), e.g. 09:00"
    assert rejects(values.parse_time, "noon") == "'noon' is not a time of day; write HH:MM (24-hour), e.g. 09:00"
    for bad in ("25:00", "24:30", "12:60"):
        assert rejects(values.parse_time, bad) == f"'{bad}' is out of range; a time of day is 00:00 to 24:00"


def test_period():
    assert values.parse_period("08:30-20:00") == (510, 1200)
    assert values.parse_period("00:00-24:00") == (0, 1440)
    assert rejects(values.parse_period, "20:00-08:00") == (
        "'20:00-08:00' does not end after it starts; split overnight hours over two days "
        "(e.g. 22:00-24:00 and 00:00-06:00)")
    assert rejects(values.parse_period, "09:00") == "'09:00' is not a period; write HH:MM-HH:MM, e.g. 08:30-20:00"
    assert rejects(values.parse_period, "09:00-25:00") == (
        "'09:00-25:00' is not a period: '25:00' is out of range; a time of day is 00:00 to 24:00")


def test_date():
    assert values.parse_date("2026-10-01") == date(2026, 10, 1)
    assert rejects(values.parse_date, "2026/10/01") == "'2026/10/01' is not a date; write YYYY-MM-DD, e.g. 2026-10-01"
    assert rejects(values.parse_date, "2026.1.5") == "'2026.1.5' is not a date; write YYYY-MM-DD, e.g. 2026-01-05"
    assert rejects(values.parse_date, "01/10/2026") == "'01/10/2026' is not a date; write YYYY-MM-DD, e.g. 2026-10-01"
    assert rejects(values.parse_date, "2026-02-30") == "'2026-02-30' is not a real date"


def test_text():
    assert values.parse_text("王芳") == "王芳"
    assert values.parse_text("") == ""
    for bad, shown in [("a\r\nb", "\\r"), ("a\tb", "\\t"), ("a\x00", "\\x00"), ("a\x85", "\\x85"),
                       ("a\u2028b", "\\u2028"), ("a\x7f", "\\x7f")]:
        message = rejects(values.parse_text, bad)
        assert message.endswith(f"contains a control character ({shown}); "
                                "write it on one line without control characters")
        assert "\n" not in message and "\r" not in message
    assert rejects(values.parse_required_text, " ") == "this cannot be empty"


def test_endpoint():
    for good in ("PJSIP/1001", "SIP/alice@example.com", "Local/1001@agents", "IAX2/peer-1"):
        assert values.parse_endpoint(good) == good
    suffix = "is not an endpoint; write TECH/resource, e.g. PJSIP/1001 (no spaces, ',', ';' or '|')"
    for bad in ("PJSIP 1001", "1001", "PJSIP/", "/1001", "PJSIP/1001&PJSIP/1002,x", "PJSIP/a|b", "9X/1"):
        assert rejects(values.parse_endpoint, bad) == f"{quote(bad)} {suffix}"
    assert rejects(values.parse_endpoint, "PJSIP/1001\r\nAction: Originate") == (
        "'PJSIP/1001\\r\\nAction: Originate' contains a control character (\\r); "
        "write it on one line without control characters")


def test_mailbox():
    for good in ("8000@sales", "8900@default", "8000", "1234@生活"):
        assert values.parse_mailbox(good) == good
    suffix = "is not a mailbox; write BOX@CONTEXT, e.g. 8000@sales (no spaces, ',', ';', '|' or '&')"
    for bad in ("80 00@sales", "8000@sales,x", "8000@a@b", "@sales", "8000@", "8000&8001"):
        assert rejects(values.parse_mailbox, bad) == f"{quote(bad)} {suffix}"
    # app_voicemail reads [general] and [zonemessages] as settings, never as mailbox contexts
    for reserved in ("8900@general", "8900@ZoneMessages"):
        assert "holds app_voicemail's settings, not mailboxes" in rejects(values.parse_mailbox, reserved)
    assert rejects(values.parse_mailbox, " ") == "this cannot be empty"


def test_days():
    assert values.parse_days("mon") == [0]
    assert values.parse_days("mon-fri") == [0, 1, 2, 3, 4]
    assert values.parse_days("sat,sun") == [5, 6]
    assert values.parse_days("Mon-Wed, fri") == [0, 1, 2, 4]
    assert values.parse_days("sun-tue") == [6, 0, 1]  # ranges may wrap round the week
    assert rejects(values.parse_days, "monday") == "'monday' is not a day; write mon"
    assert rejects(values.parse_days, "mon-fry") == (
        "'mon-fry': 'fry' is not a day; write mon, tue, wed, thu, fri, sat or sun")
    assert rejects(values.parse_days, "mon-wed-fri") == "'mon-wed-fri' is not a day range; write e.g. mon-fri"


def test_quote_and_did_you_mean():
    assert quote("王芳") == "'王芳'"
    assert quote("x" * 100) == "'" + "x" * 57 + "...'"
    assert did_you_mean("salse", ["sales", "support"]) == "; did you mean 'sales'?"
    assert did_you_mean("Sales", ["sales"]) == "; did you mean 'sales'?"
    assert did_you_mean("zzz", ["sales"]) == ""


def test_problem_format():
    err = Problem("queues.yaml", 12, 15, "queues.sales.wrapup", "'1:30' is not a duration; write 90s or 1m30s")
    assert str(err) == "queues.yaml:12:15: queues.sales.wrapup: '1:30' is not a duration; write 90s or 1m30s"
    warn = Problem("queues.yaml", 3, 3, "queues.vip", "no agent can take this queue at any step", "warning")
    assert str(warn) == "queues.yaml:3:3: warning: queues.vip: no agent can take this queue at any step"
    nowhere = Problem("config", 0, 0, "routing", "required section 'routing' is missing")
    assert str(nowhere) == "config: routing: required section 'routing' is missing"
