"""The shell commands that talk to a running router over its control
socket: `router status`, `router agent ...`, `router call ...` and
`router explain --call ID`.

Exit codes: 0 done; 1 the router refused the command (the reason on
stderr); 2 bad usage; 3 no router answers on the socket.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from router.control.client import NoRouter, request
from router.control.server import default_path
from router.control.view import CLEAR, render

EXIT_OK, EXIT_REFUSED, EXIT_NO_ROUTER = 0, 1, 3


def _ask(args: argparse.Namespace, message: dict) -> dict | None:
    try:
        return request(args.control or default_path(), message)
    except NoRouter as err:
        print(f"router {args.command}: {err}", file=sys.stderr)
        return None


def cmd_status(args: argparse.Namespace) -> int:
    path = args.control or default_path()
    while True:
        try:
            reply = request(path, {"op": "status"})
        except NoRouter as err:
            if not args.watch:
                print(f"router status: {err}", file=sys.stderr)
                return EXIT_NO_ROUTER
            # An operations screen outlives a router restart: say so, and keep asking.
            sys.stdout.write(f"{CLEAR}router status: {err}\n\n(asking again every {args.interval:g}s; "
                             "Ctrl-C to leave)\n")
            sys.stdout.flush()
            time.sleep(args.interval)
            continue
        if args.json:
            print(json.dumps(reply, ensure_ascii=False, indent=None if args.watch else 2), flush=True)
        elif args.watch:
            sys.stdout.write(CLEAR + render(reply) + f"\n\n(every {args.interval:g}s; Ctrl-C to leave)\n")
            sys.stdout.flush()
        else:
            print(render(reply))
        if not args.watch:
            return EXIT_OK
        time.sleep(args.interval)


def _command(args: argparse.Namespace, command: str, body: dict) -> int:
    reply = _ask(args, {"op": "command", "command": command, "body": body})
    if reply is None:
        return EXIT_NO_ROUTER
    if not reply.get("ok"):
        print(f"router {args.command} {command}: refused: {reply.get('reason')}", file=sys.stderr)
        return EXIT_REFUSED
    shown = {k: v for k, v in reply.items() if k != "ok" and v not in (None, "")}
    print(f"router {args.command} {command}: done: " + " ".join(f"{k}={v}" for k, v in shown.items()))
    return EXIT_OK


def _skills(items: list[str]) -> dict[str, int]:
    out = {}
    for item in items:
        skill, sep, level = item.partition("=")
        if not sep or not skill or not level.isdigit():
            raise argparse.ArgumentTypeError(f"{item!r} must be SKILL=LEVEL (0-10; 0 removes), e.g. sales=7")
        out[skill] = int(level)
    return out


def cmd_agent(args: argparse.Namespace) -> int:
    body: dict = {"agent": args.agent}
    if args.action == "pause" and args.reason:
        body["reason"] = args.reason
    elif args.reason:
        print(f"router agent {args.action}: --reason is for pause only", file=sys.stderr)
        return 2
    if args.action == "skills":
        try:
            body["skills"] = _skills(args.levels)
        except argparse.ArgumentTypeError as err:
            print(f"router agent skills: {err}", file=sys.stderr)
            return 2
        if not body["skills"]:
            print("router agent skills: give SKILL=LEVEL ..., e.g. router agent skills 1008 support=8", file=sys.stderr)
            return 2
    elif args.levels:
        print(f"router agent {args.action}: takes only the agent id (extra: {' '.join(args.levels)})", file=sys.stderr)
        return 2
    return _command(args, args.action, body)


def cmd_call(args: argparse.Namespace) -> int:
    if args.action == "move":
        return _command(args, "move", {"call": args.call, "queue": args.value})
    try:
        priority = int(args.value)
    except ValueError:
        print(f"router call priority: {args.value!r} is not an integer 0-100", file=sys.stderr)
        return 2
    return _command(args, "priority", {"call": args.call, "priority": priority})


def explain_call(args: argparse.Namespace) -> int:
    """`router explain --call ID`: asked of the running router."""
    reply = _ask(args, {"op": "explain", "call": args.call})
    if reply is None:
        return EXIT_NO_ROUTER
    if not reply.get("ok"):
        print(f"router explain: {reply.get('reason')}", file=sys.stderr)
        return EXIT_REFUSED
    print("\n".join(reply["lines"]))
    return EXIT_OK


def _control_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--control", metavar="PATH",
                        help="the running router's control socket (as given to `router run --control`; "
                             "default $ROUTER_CONTROL or $XDG_RUNTIME_DIR/router/control.sock)")


def add_parsers(sub) -> None:
    """`router status`, `router agent`, `router call` on the subparsers `sub`."""
    st = sub.add_parser("status", help="what a running router is doing: queues, agents, calls")
    st.add_argument("--watch", action="store_true", help="redraw every second (Ctrl-C to leave)")
    st.add_argument("--json", action="store_true", help="the status as JSON (one object per line with --watch)")
    st.add_argument("--interval", type=float, default=1.0, help=argparse.SUPPRESS)
    _control_flag(st)
    st.set_defaults(func=cmd_status)

    ag = sub.add_parser("agent", help="log an agent in or out, pause, unpause, set skills (as a supervisor)")
    ag.add_argument("action", choices=("login", "logout", "pause", "unpause", "skills"))
    ag.add_argument("agent", metavar="AGENT", help="the agent id")
    ag.add_argument("levels", nargs="*", metavar="SKILL=LEVEL", help="for skills: e.g. support=8 vip=0")
    ag.add_argument("--reason", help="for pause: the reason (default break)")
    _control_flag(ag)
    ag.set_defaults(func=cmd_agent)

    ca = sub.add_parser("call", help="move a waiting call to another queue, or set its priority")
    ca.add_argument("action", choices=("move", "priority"))
    ca.add_argument("call", metavar="CALL", help="the call id (router status lists them)")
    ca.add_argument("value", metavar="QUEUE|PRIORITY", help="move: the queue; priority: 0-100")
    _control_flag(ca)
    ca.set_defaults(func=cmd_call)
