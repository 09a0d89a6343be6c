"""The test-side Asterisk configs of the lab (tests/support/asterisk.py):
what a site writes itself beside the shipped deploy/asterisk files
(modules.conf, pjsip.conf), and the whole config of the "phones" instance
that plays the agents' phones and the callers."""

from __future__ import annotations

import math
import socket
import wave
from pathlib import Path

#: seconds an agent's phone rings before it answers, and talks before it hangs up
RING, TALK = 1, 3
#: the prompts the shipped IVR (router-inbound) plays, each a PROMPT s tone
#: of its own pitch (Lab(prompts=True) installs them): the language, then
#: the menu in each language
IVR_PROMPTS = {"custom/zh/choose-language": 523.0, "custom/zh/main-menu": 659.0, "custom/yue/main-menu": 698.0,
               "custom/en/main-menu": 784.0}
PROMPT = 1.5
#: the modules the shipped dialplan and the lab wiring need (all in the build)
MODULES = """\
pbx_config app_dial app_queue app_userevent app_senddtmf app_exec app_read app_voicemail app_stack
app_playback app_mixmonitor app_bridgewait func_callerid func_channel func_strings func_logic func_math
func_global func_db func_devstate func_hangupcause res_musiconhold res_timing_timerfd bridge_simple
bridge_native_rtp bridge_holding bridge_builtin_features res_manager_devicestate format_wav format_pcm
format_gsm codec_gsm codec_ulaw res_pjproject res_sorcery_config res_sorcery_memory res_sorcery_astdb res_pjsip
res_pjsip_session chan_pjsip res_rtp_asterisk res_pjsip_sdp_rtp res_pjsip_registrar
res_pjsip_outbound_registration res_pjsip_authenticator_digest res_pjsip_outbound_authenticator_digest
res_pjsip_endpoint_identifier_ip res_pjsip_endpoint_identifier_user res_pjsip_caller_id
res_pjsip_dtmf_info res_pjsip_rfc3326 res_pjsip_pubsub
""".split()


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port free on `host` just now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def silence(path: Path, seconds: float, tone: float = 0.0) -> None:
    """An 8 kHz mono 16-bit WAV of silence (a prompt or hold music), or of
    a `tone` Hz sine (what an agent's phone says, so a recording has sound)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = bytearray()
    for n in range(int(8000 * seconds)):
        frames += int(8000 * math.sin(2 * math.pi * tone * n / 8000)).to_bytes(2, "little", signed=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(frames))


def wav_samples(path: Path) -> tuple[int, list[int]]:
    """(frame rate, samples) of an 8 or 16 kHz mono 16-bit WAV (what
    VoiceMail() and MixMonitor write here), to tell sound from silence."""
    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1, path
        rate, audio = w.getframerate(), w.readframes(w.getnframes())
    return rate, [int.from_bytes(audio[i:i + 2], "little", signed=True) for i in range(0, len(audio), 2)]


def modules_conf(without: tuple[str, ...] = ()) -> str:
    """modules.conf: MODULES but `without` (a site that did not load one)."""
    return "[modules]\nautoload=no\n" + "".join(f"load => {m}.so\n" for m in MODULES if m not in without)


def pbx_pjsip(sip: int, phones_sip: int, agents: dict[str, str], hold_limit: int | None = None) -> str:
    """The site's pjsip.conf: agent endpoints named by agent id (context
    agents, as deploy/asterisk/README.md says), and the trunk from 127.0.0.3
    into router-inbound; `hold_limit` sets ROUTER_HOLD_LIMIT on the trunk's
    calls (a context before router-in may, docs say; 300 s is too long for
    a test of the fallback)."""
    out = [f"""\
[global]
type=global
endpoint_identifier_order=ip,username

[udp]
type=transport
protocol=udp
bind=127.0.0.1:{sip}

[trunk]
type=endpoint
context=router-inbound
disallow=all
allow=ulaw
trust_id_inbound=yes
aors=trunk
{f"set_var=ROUTER_HOLD_LIMIT={hold_limit}" if hold_limit else ""}
[trunk]
type=aor
contact=sip:127.0.0.3:{phones_sip}
[trunk]
type=identify
endpoint=trunk
match=127.0.0.3
"""]
    for aid, name in agents.items():
        out.append(f"""
[{aid}]
type=endpoint
context=agents
disallow=all
allow=ulaw
auth={aid}-auth
aors={aid}
callerid="{name}" <{aid}>
[{aid}-auth]
type=auth
auth_type=userpass
username={aid}
password=pw{aid}
[{aid}]
type=aor
max_contacts=1
remove_existing=yes
""")
    return "".join(out)


def phones_pjsip(sip: int, pbx_sip: int, agents: dict[str, str]) -> str:
    """The phones instance: `pbx` is the main instance seen from the callers'
    address (so it lands on the trunk), one registration per agent phone."""
    out = [f"""\
[global]
type=global
endpoint_identifier_order=ip

[phones]
type=transport
protocol=udp
bind=127.0.0.2:{sip}
[callers]
type=transport
protocol=udp
bind=127.0.0.3:{sip}

[pbx]
type=endpoint
transport=callers
context=phones
disallow=all
allow=ulaw
send_pai=yes
aors=pbx
[pbx]
type=aor
contact=sip:127.0.0.1:{pbx_sip}
[pbx]
type=identify
endpoint=pbx
match=127.0.0.1
"""]
    for aid in agents:
        out.append(f"""
[reg-{aid}]
type=registration
transport=phones
server_uri=sip:127.0.0.1:{pbx_sip}
client_uri=sip:{aid}@127.0.0.1:{pbx_sip}
contact_user={aid}
outbound_auth=auth-{aid}
retry_interval=2
[auth-{aid}]
type=auth
auth_type=userpass
username={aid}
password=pw{aid}
[phone-{aid}]
type=endpoint
transport=phones
context=phones
disallow=all
allow=ulaw
from_user={aid}
outbound_auth=auth-{aid}
aors=phone-{aid}
[phone-{aid}]
type=aor
contact=sip:127.0.0.1:{pbx_sip}
""")
    return "".join(out)


PHONES_DIALPLAN = f"""\
[general]
static=yes

[phones]
; the router rings an agent's phone: ring, answer, talk (a TALK s tone, so
; that a recording has sound), hang up (the agent hangs up first). A test
; changes one phone with the globals PHONE_<agent>=busy (rejects: 486) and
; RING_<agent>=<seconds> (rings that long before it answers), TALK_<agent>=
; <seconds> (talks that much longer before it hangs up): Lab.phone()
exten => _10XX,1,GotoIf($["${{GLOBAL(PHONE_${{EXTEN}})}}" = "busy"]?busy)
 same => n,Ringing()
 same => n,Wait(${{IF($["${{GLOBAL(RING_${{EXTEN}})}}" = ""]?{RING}:${{GLOBAL(RING_${{EXTEN}})}})}})
 same => n,Answer()
 same => n,Playback(lab-agent-talks)
 same => n,Wait(${{IF($["${{GLOBAL(TALK_${{EXTEN}})}}" = ""]?0:${{GLOBAL(TALK_${{EXTEN}})}})}})
 same => n,Hangup()
 same => n(busy),Busy(5)
; a customer's mobile (11 digits, 1[3-9]...) dialled over the trunk (a
; callback, a transfer): answers after RING s and listens until hung up;
; while the global CUSTOMER_<number>=reject it refuses the call as an
; unknown number (cause 1: 404, as for a number with no extension here)
exten => _1[3-9]XXXXXXXXX,1,GotoIf($["${{GLOBAL(CUSTOMER_${{EXTEN}})}}" = "reject"]?reject)
 same => n,Ringing()
 same => n,Wait({RING})
 same => n,Answer()
 same => n,Wait(60)
 same => n,Hangup()
 same => n(reject),Hangup(1)

[caller]
; a caller once the pbx answered: listen until hung up (DTMF comes by AMI)
exten => s,1,Wait(60)
 same => n,Hangup()

[caller-listens]
; a silent caller who records what they hear (the HEARD channel variable: a
; path on this instance) until hung up
exten => s,1,MixMonitor(${{HEARD}})
 same => n,Wait(60)
 same => n,Hangup()

[caller-talks]
; a caller who speaks (the agents' TALK s tone, again and again) until hung up
exten => s,1,Playback(lab-agent-talks)
 same => n,Goto(1)

[feature]
exten => s,1,Wait(3)
 same => n,Hangup()
"""
