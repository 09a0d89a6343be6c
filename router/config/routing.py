"""Schema of the `routing` section: classification rules and the default
(docs/RULES.md, "routing")."""

from __future__ import annotations

from router.config.errors import join_path, quote
from router.config.model import Edge, RuleSpec, Where
from router.config.nodes import Node, Scalar, Seq
from router.config.queues import read_escalation, step_edges
from router.config.schema import NAME, PRIORITY, TEXT, Reader
from router.core.patterns import compile_pattern
from router.core.table import Pattern

RULE_KEYS = ["name", "when", "queue", "priority", "skills", "escalation"]
DEFAULT_KEYS = ["queue", "priority", "skills", "escalation"]
WHEN_KEYS = ["dnis", "caller", "vars", "in_hours", "out_of_hours"]
NO_WHEN = ("a rule without conditions would take every call and hide the rules after it; "
           "use routing.default for that")


def _nothing(node: Node | None) -> bool:
    """An empty list or an empty value, where at least one item is needed."""
    return (isinstance(node, Seq) and not node.items) or (isinstance(node, Scalar) and node.empty)


def _patterns(r: Reader, node: Node | None, path: str) -> list[Pattern]:
    items = r.items(node, path, "a list of number patterns")
    if _nothing(node):
        r.error(node, path, "no patterns given: an empty list matches no call; leave the key out instead")
    patterns: list[Pattern] = []
    for item_path, item in items:
        text = r.value(item, item_path, TEXT)
        if text is None:
            continue
        try:
            patterns.append(compile_pattern(text))
        except ValueError as exc:
            r.error(item, item_path, f"{quote(text)} is not a number pattern: {exc}")
    return patterns


def _vars(r: Reader, node: Node | None, path: str) -> list[tuple[str, tuple[str, ...]]]:
    result = []
    for key, key_node, value_node in r.entries(node, path, "a mapping of variable: value(s)"):
        key_path = join_path(path, key)
        name = r.value(key_node, key_path, NAME)
        items = r.items(value_node, key_path, "a value or a list of values")
        texts = [r.value(item, item_path, TEXT) for item_path, item in items]
        if _nothing(value_node):
            r.error(value_node, key_path, "no value given: write the value(s) the variable must have")
        if name is not None and items and None not in texts:
            result.append((name, tuple(dict.fromkeys(texts))))
    return result


def _when(r: Reader, rule: RuleSpec, node: Node | None, path: str) -> None:
    conditions = r.mapping(node, path, "conditions such as {dnis: [...], caller: [...], vars: {...}}")
    if conditions is None:
        return
    if not conditions.items:
        r.error(node, path, f"`when` is empty: {NO_WHEN}")
        return
    found = r.fields(conditions, path, WHEN_KEYS) or {}
    at = lambda key: join_path(path, key)  # noqa: E731
    rule.dnis = _patterns(r, found.get("dnis"), at("dnis"))
    rule.caller = _patterns(r, found.get("caller"), at("caller"))
    rule.vars = _vars(r, found.get("vars"), at("vars"))
    rule.in_hours = r.ref("calendar", found.get("in_hours"), at("in_hours"))
    rule.out_of_hours = r.ref("calendar", found.get("out_of_hours"), at("out_of_hours"))
    if rule.in_hours is not None and rule.in_hours == rule.out_of_hours:
        r.error(found["out_of_hours"], at("out_of_hours"),
                f"a call cannot be both in and out of hours of {quote(rule.in_hours)}; this rule would never match")


def _rule(r: Reader, node: Node, path: str, keys: list[str], required: list[str],
          edges: list[Edge]) -> RuleSpec | None:
    found = r.fields(node, path, keys, required=required, what="a rule (name:, when:, queue:, ...)")
    if found is None:
        return None
    at = lambda key: join_path(path, key)  # noqa: E731
    rule = RuleSpec(None, Where.of(node, path))
    if "name" in found:
        rule.name = r.value(found["name"], at("name"), NAME)
        if rule.name == "default":
            r.error(found["name"], at("name"), "the name 'default' is kept for routing.default; choose another")
    rule.queue = r.ref("queue", found.get("queue"), at("queue"))
    if "priority" in found:
        rule.priority = r.value(found["priority"], at("priority"), PRIORITY)
    rule.skills = r.levels(found.get("skills"), at("skills"))
    if "escalation" in found:
        rule.escalation = read_escalation(r, found["escalation"], at("escalation"), rule.queue)
        edges.extend(step_edges(rule.queue, rule.escalation))
    if "when" in keys:
        if "when" in found:
            _when(r, rule, found["when"], at("when"))
        else:
            r.error(node, path, f"missing `when`: {NO_WHEN}")
    return rule


def read_routing(r: Reader, node: Node, path: str,
                 edges: list[Edge]) -> tuple[list[RuleSpec] | None, RuleSpec | None]:
    """(rules, default); rules is None when the section cannot be read."""
    found = r.fields(node, path, ["rules", "default"], required=["default"],
                     what="a mapping with rules: and default:")
    if found is None:
        return None, None
    rules = []
    for rule_path, item in r.items(found.get("rules"), join_path(path, "rules"), "a list of rules",
                                   single=False):
        rule = _rule(r, item, rule_path, RULE_KEYS, ["name", "queue"], edges)
        if rule is not None:
            rules.append(rule)
    default = None
    if "default" in found:
        default = _rule(r, found["default"], join_path(path, "default"), DEFAULT_KEYS, ["queue"], edges)
        if default is not None:
            default.name = "default"
    return rules, default
