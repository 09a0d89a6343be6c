"""router/process/heap.py: survivors of a full collection are frozen (later full
collections skip them), new garbage is still collected, a thaw frees cycles
that died frozen, and uninstall gives everything back to the collector."""

from __future__ import annotations

import asyncio
import gc
import weakref

from router.process import heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def garbage_cycle() -> weakref.ref:
    """Two nodes that point at each other and nothing else does."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


async def test_survivors_are_frozen_new_garbage_collected_and_a_thaw_frees_frozen_cycles():
    gc.unfreeze()
    policy = heap.install(asyncio.get_running_loop(), thaw_every=3600)
    try:
        keep = [Node() for _ in range(1000)]
        gc.collect()  # a full collection: its survivors are frozen right after, from the loop
        assert policy.freezes == 0
        await asyncio.sleep(0)
        assert policy.freezes == 1 and gc.get_freeze_count() >= len(keep)
        # Garbage made since is still found by full collections.
        young = garbage_cycle()
        gc.collect()
        assert young() is None
        # A cycle that was alive when frozen and died later waits for a thaw.
        a, b = Node(), Node()
        a.other, b.other = b, a
        gc.collect()
        await asyncio.sleep(0)  # frozen with the other survivors
        old = weakref.ref(a)
        del a, b
        gc.collect()
        assert old() is not None
        policy.thaw()
        assert old() is None and policy.thaws == 1 and gc.get_freeze_count() >= len(keep)
    finally:
        heap.uninstall()
    assert gc.get_freeze_count() == 0 and policy._on_gc not in gc.callbacks
    gc.collect()
    await asyncio.sleep(0)
    assert gc.get_freeze_count() == 0  # nothing frozen once uninstalled
    heap.uninstall()  # twice is harmless
