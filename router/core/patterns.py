"""Number patterns for classification rules.

Three forms, chosen so an Asterisk admin can reuse what they already know:

- exact text: ``"4008001234"``;
- a prefix, written with one trailing ``*``: ``"+86138*"`` (any suffix, even
  none);
- an Asterisk dialplan pattern, starting with ``_``: ``X`` is 0-9, ``Z`` 1-9,
  ``N`` 2-9, ``[15-7]`` a class, ``.`` one or more of anything and ``!`` zero
  or more. Letters other than X, Z and N match themselves, as in Asterisk,
  and a ``-`` outside ``[]`` is ignored, as Asterisk does (``_1-800-NXX-XXXX``
  is ``_1800NXXXXXX``), so a number can be written the way it is read.
"""

from __future__ import annotations

import re

from router.core.table import Pattern

_CLASS = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]"}


def compile_pattern(text: str) -> Pattern:
    """Compile a pattern; raise ValueError with an admin-readable reason."""
    if not text:
        raise ValueError("empty pattern")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError("control character in pattern")
    if text.startswith("_"):
        return Pattern(text, re.compile(_asterisk_regex(text[1:])))
    if text.endswith("*") and len(text) > 1:
        return Pattern(text, re.compile(re.escape(text[:-1]) + ".*", re.S))
    return Pattern(text, re.compile(re.escape(text)))


def _asterisk_regex(body: str) -> str:
    if not body:
        raise ValueError("'_' must be followed by a pattern")
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c.upper() in _CLASS:
            out.append(_CLASS[c.upper()])
        elif c == ".":
            out.append(".+")
        elif c == "!":
            out.append(".*")
        elif c == "-":
            pass  # Asterisk ignores dashes in patterns
        elif c == "[":
            end = body.find("]", i + 1)
            if end < 0:
                raise ValueError(f"unclosed '[' at position {i + 1}")
            inner = body[i + 1 : end]
            if not inner:
                raise ValueError(f"empty '[]' at position {i + 1}")
            if not re.fullmatch(r"[0-9A-Za-z*#+](-[0-9A-Za-z*#+])?(?:[0-9A-Za-z*#+](-[0-9A-Za-z*#+])?)*", inner):
                raise ValueError(f"bad character class '[{inner}]'")
            for low, high in re.findall(r"(.)-(.)", inner):
                if low > high:  # re.compile would raise re.error, not a ValueError
                    raise ValueError(f"reversed range '{low}-{high}' in '[{inner}]'")
            out.append("[" + inner.replace("*", r"\*").replace("+", r"\+") + "]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)
