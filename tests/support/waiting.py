"""Small helpers the end-to-end tests share: waiting for a condition in
real time, the PBX simulator's clean bill, stopping a server process."""

from __future__ import annotations

import asyncio
import inspect
import subprocess


async def until(condition, seconds: float = 5.0, poll: float = 0.02, what: str | None = None) -> None:
    """Wait (real seconds) until condition() holds, polling every `poll`
    seconds; fail with a message (naming `what`) otherwise. condition may
    be a coroutine function (e.g. a query to a server)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what or condition}")
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
