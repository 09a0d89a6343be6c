"""The control API of a running router (`router status`, `router agent`,
`router call`, `router explain --call`): a local Unix socket, see server.py."""

from router.control.server import ControlError, ControlServer, default_path

__all__ = ["ControlServer", "ControlError", "default_path"]
