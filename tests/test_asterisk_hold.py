"""The hold music a waiting caller hears, on a real Asterisk 22.10.1 running
the shipped deploy/asterisk (tests/support/asterisk.py): router-in's
MusicOnHold(default) plays the files of the shipped musiconhold.conf's
`default` class (mode=files, directory=moh) over the trunk's RTP to the
caller. Here the moh directory holds one WAV file, a HOLD_TONE Hz tone; the
caller (on the phones instance) records what they hear, and the recording
carries that tone for as long as they held. No router runs: the hold is
the dialplan's own, as while the router decides."""

from __future__ import annotations

import re
import time
from itertools import groupby

from support.asterisk import Lab
from support.asterisk_conf import wav_samples
from support.asterisk_router import AGENTS, wait_for

HOLD_TONE = 330.0
#: seconds the caller holds (router-in's ROUTER_HOLD_LIMIT from the test trunk), and listens of it
HOLD, LISTEN = 8, 4


def loud_stretch(path) -> tuple[float, float]:
    """(seconds, Hz) of the recording's longest run of sound: 20 ms frames
    whose peak is far from zero, and the frequency their zero crossings give."""
    rate, samples = wav_samples(path)
    step = rate // 50
    frames = [samples[i:i + step] for i in range(0, len(samples) - step + 1, step)]
    runs = [list(run) for loud, run in groupby(frames, key=lambda frame: max(map(abs, frame)) > 1000) if loud]
    sound = [x for frame in max(runs, key=len, default=[]) for x in frame]
    crossings = sum(1 for a, b in zip(sound, sound[1:]) if (a < 0) != (b < 0))
    seconds = len(sound) / rate
    return seconds, crossings / 2 / seconds if seconds else 0.0


def test_a_waiting_caller_hears_the_hold_music_files(tmp_path):
    heard = tmp_path / "phones" / "heard.wav"
    with Lab(tmp_path, AGENTS, hold_limit=HOLD, hold_tone=HOLD_TONE) as lab:
        assert "default" in lab.pbx.cli("moh show classes")
        lab.call("4008001000", "秦五", "13800138001", heard=heard)
        wait_for(lambda: re.search(rf"^PJSIP/trunk-\S+!router-in!4008001000!\d+!Up!MusicOnHold!default,{HOLD}!",
                                   lab.pbx.cli("core show channels concise"), re.M), 10,
                 "the caller on hold in router-in")
        time.sleep(LISTEN)
        lab.hang_up(*lab.caller_channels())
        wait_for(lab.pbx.idle, 10, "the caller's channel gone")
        wait_for(lambda: heard.exists() and heard.stat().st_size > 44, 10, "the caller's recording written")
        log = lab.log()
    assert "Started music on hold, class 'default'" in log
    assert not [line for line in log.splitlines() if "WARNING" in line and "moh" in line.lower()]
    seconds, hz = loud_stretch(heard)
    # the tone for most of the time listened (RTP set-up and the hang-up take a little)
    assert seconds >= LISTEN - 1.5, seconds
    assert abs(hz - HOLD_TONE) < 10, hz
