"""Framer(drop=...): events the router knows it does not use are dropped
before parsing; replies, listing items (ActionID), wanted events and
unknown kinds always get through."""

from router.ami.framing import Framer, parse_block

STREAM = (b"Asterisk Call Manager/11.0.0\r\n"
          b"Event: VarSet\r\nChannel: PJSIP/trunk-1\r\nVariable: ROUTER_DNIS\r\n\r\n"
          b"Event: Hangup\r\nUniqueid: 1.1\r\nCallerIDName: \xe7\x8e\x8b\xe4\xba\x94\r\n\r\n"
          b"Response: Success\r\nActionID: a1\r\nMessage: ok\r\n\r\n"
          b"Event: CoreShowChannel\nActionID: a2\nChannel: PJSIP/1001-1\n\n"
          b"Event: Newexten\r\nactionid: a3\r\n\r\n"
          b"Event: Newexten\r\nChannel: x\r\n\r\n")


def test_unwanted_events_are_dropped_and_the_rest_kept_in_order():
    kept = Framer(drop=frozenset({"varset", "newexten"})).feed(STREAM)
    assert [dict(h).get("Event") or dict(h).get("Response") for h in kept] == \
        ["Hangup", "Success", "CoreShowChannel", "Newexten"]
    assert dict(kept[0])["CallerIDName"] == "王五"


def test_without_a_filter_every_message_is_kept():
    assert len(Framer().feed(STREAM)) == 6


def test_header_parsing_edge_cases():
    assert parse_block("A: b\r\nno colon\r\nC:d\r\nE:  two spaces\r\n Key : v\r") == [
        ("A", "b"), ("C", "d"), ("E", " two spaces"), ("Key", "v")]


def test_an_unknown_kind_is_never_dropped_so_it_can_be_counted():
    stream = STREAM + b"Event: Weird\r\nX: 1\r\n\r\n"
    kept = Framer(drop=frozenset({"varset", "newexten"})).feed(stream)
    assert dict(kept[-1]) == {"Event": "Weird", "X": "1"}


def test_plain_events_skip_panoramisk_and_read_case_insensitively():
    from panoramisk.message import Message

    from router.ami.framing import AmiEvent
    from router.ami.protocol import incoming

    event = incoming([("Event", "Hangup"), ("UniqueID", "17"), ("ChanVariable", "a=1"), ("ChanVariable", "b=2"),
                      ("chanvariable", "c=3")])
    assert isinstance(event, AmiEvent)
    assert (event.get("Uniqueid"), event["UNIQUEID"], "uniqueid" in event) == ("17", "17", True)
    assert event.get("ChanVariable") == ["a=1", "b=2"] and event.get("Cause", "") == ""
    assert event.get("CHANVARIABLE") == ["a=1", "b=2", "c=3"]  # another spelling: every value
    assert "Cause" not in event and event.get("Cause") is None
    # What panoramisk must see: replies and listing items (ActionID), and
    # Shutdown, on which it drops the connection.
    for headers in ([("Event", "CoreShowChannel"), ("ActionID", "x-1")], [("Response", "Success")],
                    [("Event", "Shutdown"), ("Restart", "True")]):
        assert isinstance(incoming(headers), Message) and not isinstance(incoming(headers), AmiEvent)
