"""Small helpers the end-to-end tests share: waiting for a condition in
real time, the PBX simulator's clean bill, stopping a server process."""

from __future__ import annotations

import asyncio
import subprocess


async def until(condition, seconds: float = 5.0, poll: float = 0.02) -> None:
    """Wait (real seconds) until condition() holds; fail with a message otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {condition}")
        await asyncio.sleep(poll)


def assert_clean(pbx) -> None:
    """No ghost call, no double connect, no simulator error."""
    assert pbx.ghost_calls == 0
    assert pbx.double_connects == 0
    assert pbx.errors == []


def stop_process(proc: subprocess.Popen, grace: float) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
