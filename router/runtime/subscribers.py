"""Subscribers: the one way a consumer follows what the router publishes.

The engine returns facts (router/core/facts/) among its commands; the
Router hands each to every subscriber, in the order they subscribed. A
subscriber is any callable `(fact, now)`; most map fact types to their own
output with `by_type`:

    class CallRecords:
        def __init__(self):
            self.on_fact = by_type({CallAnswered: self._answered, CallAbandoned: self._abandoned})
        ...

    router.subscribe(records.on_fact)          # the one line that registers it

A subscriber is called synchronously in the event loop and must not block
(queue the work and do the I/O elsewhere, as the MQTT bus does). A fault in
one (an exception) never stops routing or the other subscribers: it is
logged with its traceback and counted per subscriber (`faults`, exported as
router_subscriber_faults_total). A simulation, which has no routing to
protect, passes `catch=False` so that a fault surfaces at once.
"""

from __future__ import annotations

import logging
from types import MappingProxyType
from typing import Any, Callable, Mapping

from router.core.facts import CATALOGUE, Fact

log = logging.getLogger("router")

#: A consumer of facts: called with each fact and the router's time.
Subscriber = Callable[[Fact, float], None]
#: One fact type's handler in a `by_type` table.
Handler = Callable[[Fact, float], None]


def by_type(handlers: Mapping[type, Callable[[Any, float], None]]) -> Subscriber:
    """A subscriber that calls `handlers[type(fact)](fact, now)` and ignores
    the facts it has no handler for. Every key must be a fact of the
    catalogue (a typo or a stray class is refused here, at wiring time)."""
    unknown = [t for t in handlers if t not in CATALOGUE]
    if unknown:
        raise TypeError(f"not facts of router.core.facts.CATALOGUE: {', '.join(map(repr, unknown))}")
    table = dict(handlers)
    get = table.get

    def subscriber(fact: Fact, now: float) -> None:
        handler = get(type(fact))
        if handler is not None:
            handler(fact, now)

    subscriber.handles = frozenset(table)  # for readers and tests: what it follows
    subscriber.handlers = MappingProxyType(table)  # for `Subscribers`: called directly, per type
    return subscriber


def _name(subscriber: Subscriber) -> str:
    owner = getattr(subscriber, "__self__", None)
    if owner is not None:  # a bound method: its class says more than "on_fact"
        return f"{type(owner).__name__}.{subscriber.__name__}"
    return getattr(subscriber, "__qualname__", None) or type(subscriber).__name__


class Subscribers:
    """The fan-out of facts to subscribers (one per Router or Simulation)."""

    def __init__(self, *, catch: bool = True) -> None:
        self._subscribers: list[tuple[Subscriber, str]] = []
        self._catch = catch
        #: subscriber name -> faults so far (bounded: names come from the code)
        self.faults: dict[str, int] = {}
        # Fact type -> (handler, name) to call, in subscription order. Why: a
        # simulated week publishes millions of facts, most of which no
        # subscriber follows; a `by_type` subscriber's handler is called
        # directly, and one that does not follow the type costs nothing.
        # Built on first use of each type, dropped when the subscribers change.
        self._routes: dict[type, tuple[tuple[Subscriber, str], ...]] = {}

    def subscribe(self, subscriber: Subscriber, name: str | None = None) -> Subscriber:
        """Add `subscriber` (called after those already there); returns it,
        for `unsubscribe`. `name` labels its faults (default: its own name)."""
        self._subscribers.append((subscriber, name or _name(subscriber)))
        self._routes = {}
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Remove `subscriber` (nothing happens if it is not subscribed)."""
        self._subscribers = [(s, n) for s, n in self._subscribers if s != subscriber]
        self._routes = {}

    def __contains__(self, subscriber: Subscriber) -> bool:
        return any(s == subscriber for s, _ in self._subscribers)

    def __len__(self) -> int:
        return len(self._subscribers)

    def _route(self, kind: type) -> tuple[tuple[Subscriber, str], ...]:
        """What to call for a fact of type `kind`: each subscriber in order,
        or for a `by_type` one its handler of that type (if any)."""
        route = []
        for subscriber, name in self._subscribers:
            handlers = getattr(subscriber, "handlers", None)
            if handlers is None:
                route.append((subscriber, name))
            elif kind in handlers:
                route.append((handlers[kind], name))
        self._routes[kind] = tuple(route)
        return self._routes[kind]

    def follows(self, kind: type) -> bool:
        """Whether any subscriber would be handed a fact of type `kind`."""
        route = self._routes.get(kind)
        return bool(route if route is not None else self._route(kind))

    def handlers_for(self, kind: type) -> tuple[Subscriber, ...]:
        """What `publish` calls for a fact of type `kind`, in order, for a
        caller that publishes itself (the simulation, whose faults surface:
        no `catch`). Valid until the subscribers change."""
        route = self._routes.get(kind)
        return tuple(h for h, _ in (route if route is not None else self._route(kind)))

    def publish(self, fact: Fact, now: float) -> None:
        """Hand `fact` to every subscriber, in order."""
        route = self._routes.get(type(fact))
        if route is None:
            route = self._route(type(fact))
        if not self._catch:
            for handler, _ in route:
                handler(fact, now)
            return
        for subscriber, name in route:
            try:
                subscriber(fact, now)
            except Exception:  # a subscriber's fault never stops routing
                self.faults[name] = self.faults.get(name, 0) + 1
                log.exception("publish listener failed on %s (subscriber %s)", fact.kind, name)
