"""Skills-based, service-level-aware call router for Asterisk contact centres."""

__version__ = "0.1.0"
