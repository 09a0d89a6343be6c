"""`check_config` and `load_config`: files -> sections -> checks -> table."""

from __future__ import annotations

import os

from router.config import nodes
from router.config.compile import compile_table
from router.config.errors import CheckResult, ConfigError, Report, did_you_mean, quote
from router.config.model import ConfigSpec
from router.config.queues import read_queues
from router.config.references import (check_callbacks, check_duplicates, check_loops, check_references,
                                      check_warnings)
from router.config.routing import read_routing
from router.config.schema import Reader
from router.config.sections import (read_agents, read_calendars, read_records, read_settings, read_skills,
                                    read_teams)
from router.core.table import RoutingTable

SECTIONS = ("settings", "records", "skills", "teams", "agents", "calendars", "queues", "routing")
REQUIRED = ("skills", "agents", "queues", "routing")


def _read_files(given: str, report: Report) -> tuple[list[tuple[str, str, bytes]], bool] | None:
    """([(shown name, file name, bytes)] of the config files, whether all of
    them could be read), or None when the path itself is unusable."""
    try:
        if os.path.isdir(given):
            # Like the shell's *.yaml, skip hidden files (editor locks and backups).
            names = sorted(n for n in os.listdir(given)
                           if n.endswith((".yaml", ".yml")) and not n.startswith("."))
            if not names:
                report.add(given, 0, 0, "", "no *.yaml or *.yml files in this directory")
                return None
            shown = [(os.path.join(given, n), n) for n in names]
        elif os.path.exists(given) and not os.path.isfile(given):
            report.add(given, 0, 0, "", "not a directory or a regular file")
            return None
        else:
            shown = [(given, os.path.basename(given))]
    except OSError as exc:
        report.add(given, 0, 0, "", f"cannot read: {exc.strerror or exc}")
        return None
    files = []
    for path, name in shown:
        try:
            if os.path.exists(path) and not os.path.isfile(path):
                report.add(path, 0, 0, "", "not a regular file")
                continue
            with open(path, "rb") as handle:
                files.append((path, name, handle.read()))
        except OSError as exc:
            report.add(path, 0, 0, "", f"cannot read: {exc.strerror or exc}")
    return files, len(files) == len(shown)


def _sections(files, report: Report) -> tuple[dict[str, nodes.Node], bool]:
    """Section name -> its value node across all files; and whether every
    file could be parsed (if not, a "missing" section may just be unread)."""
    found: dict[str, tuple[nodes.Node, str, int]] = {}
    complete = True
    for shown, name, data in files:
        text = nodes.decode(shown, data, report)
        root, whole = (None, False) if text is None else nodes.parse(shown, text, report)
        complete = complete and whole
        if not whole and len(files) > 1:  # the other files are checked all the same; say what this one hides
            report.add(shown, 1, 1, "", ("could not be checked" if root is None else "only partly checked")
                       + ": fix the error above and check again; what it defines is unknown meanwhile, so "
                       "references to it from the other files were not judged", severity="note")
        if root is None:
            continue
        for key, (key_node, value_node) in root.items.items():
            if key not in SECTIONS:
                hint = did_you_mean(key, SECTIONS) or f"; the sections are: {', '.join(SECTIONS)}"
                report.at(key_node, key, f"unknown section {quote(key)}{hint}")
            elif key in found:
                _, first_file, first_line = found[key]
                report.at(key_node, key, f"section {quote(key)} is already defined in {first_file}:{first_line}")
            else:
                found[key] = (value_node, name, key_node.line)
    return {key: value[0] for key, value in found.items()}, complete


def _read(sections: dict[str, nodes.Node], complete: bool, r: Reader) -> ConfigSpec:
    spec = ConfigSpec()
    # An optional section that is absent is empty, unless a file could not
    # be parsed: then it may be in there, and its names cannot be judged.
    empty = {} if complete else None
    if "settings" in sections:
        spec.settings = read_settings(r, sections["settings"], "settings")
    if "records" in sections:
        spec.records = read_records(r, sections["records"], "records")
    if "skills" in sections:
        spec.skills, spec.skill_where = read_skills(r, sections["skills"], "skills") or (None, {})
    spec.teams = read_teams(r, sections["teams"], "teams") if "teams" in sections else empty
    if "agents" in sections:
        spec.agents = read_agents(r, sections["agents"], "agents")
    spec.calendars = read_calendars(r, sections["calendars"], "calendars") if "calendars" in sections else empty
    if "queues" in sections:
        spec.queues = read_queues(r, sections["queues"], "queues", spec.edges)
    if "routing" in sections:
        spec.rules, spec.default = read_routing(r, sections["routing"], "routing", spec.edges)
    spec.refs = r.refs
    return spec


def check_config(path: str | os.PathLike) -> CheckResult:
    """Read and check the config at `path` (a directory of *.yaml/*.yml
    files, read in name order, or one YAML file). Never raises for bad
    input: every problem found is in the result, errors and warnings each
    sorted by file, line, column and key path; `table` is set only when
    there are no errors."""
    given = os.fspath(path)
    if isinstance(given, bytes):
        given = os.fsdecode(given)
    report = Report()
    found = _read_files(given, report)
    if found is None:
        return CheckResult(None, *report.split())
    files, all_read = found
    sections, complete = _sections(files, report)
    complete = complete and all_read
    if complete:
        for name in REQUIRED:
            if name not in sections:
                report.add(given, 0, 0, name, f"required section {quote(name)} is missing")
    spec = _read(sections, complete, Reader(report))
    check_references(report, spec)
    check_duplicates(report, spec)
    check_loops(report, spec)
    check_callbacks(report, spec)
    # Warnings judge the whole config; on a config with errors they would
    # rest on guesses (an agent whose level is wrong seems to lack the
    # skill), so they wait until the errors are fixed.
    if not report.has_errors:
        check_warnings(report, spec)
    errors, warnings = report.split()
    table = None
    if not errors:
        table = compile_table(spec, [(name, data) for _, name, data in files])
    return CheckResult(table, errors, warnings)


def load_config(path: str | os.PathLike) -> RoutingTable:
    """The routing table for the config at `path`; raises ConfigError
    listing every error if there is any (warnings do not stop it)."""
    result = check_config(path)
    if result.errors or result.table is None:
        raise ConfigError(result.errors)
    return result.table
