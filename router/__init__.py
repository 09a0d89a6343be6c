"""Skills-based, service-level-aware call router for Asterisk contact centres."""

__version__ = "0.1.0"


def _check_compiled() -> None:
    """Refuse compiled modules older than their sources (setup.py,
    ROUTER_COMPILE=1): Python imports an extension before the .py beside it,
    so an edit, a pull or a checkout would silently not run. A pure-Python
    tree has no router/_compiled.py and costs one failed import."""
    try:
        from router._compiled import SOURCES
    except ImportError:
        return
    import hashlib
    from importlib.machinery import EXTENSION_SUFFIXES
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    stale = []
    for path, digest in SOURCES.items():
        source = root / path
        built = any(source.with_suffix(suffix).exists() for suffix in EXTENSION_SUFFIXES)
        if built and (not source.exists() or hashlib.sha256(source.read_bytes()).hexdigest() != digest):
            stale.append(path)
    if stale:
        raise ImportError(f"compiled router modules older than their sources: {', '.join(stale)}; "
                          "run `bash scripts/build-compiled.sh` again, or `bash scripts/build-compiled.sh "
                          "--clean` for pure Python")


_check_compiled()
