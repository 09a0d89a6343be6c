"""Small file helpers shared by the adapters and the command line: a secret
read from a file or the environment (never from argv), and a text file
written with one clear error."""

from __future__ import annotations

import os
from typing import Callable, Mapping


def read_secret(path: str | None, env_var: str, what: str, error: Callable[[str], Exception],
                environ: Mapping[str, str] = os.environ) -> str | None:
    """The secret from the file `path` (its first line, stripped) or from the
    environment variable `env_var`; None when neither is given. An unreadable
    file raises `error("cannot read the <what> file ...")`."""
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.readline().strip()
        except OSError as err:
            raise error(f"cannot read the {what} file {path}: {err.strerror}") from None
    return environ.get(env_var) or None


def write_text(path: str, text: str, error: Callable[[str], Exception], flag: str = "") -> None:
    """Write `text` (UTF-8) to `path`; a failure raises `error("[flag: ]cannot
    write <path>: <why>")`."""
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as err:
        raise error(f"{flag + ': ' if flag else ''}cannot write {path}: {err.strerror or err}") from None
