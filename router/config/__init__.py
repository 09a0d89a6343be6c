"""The configuration pipeline: YAML files -> checked, compiled RoutingTable.

    result = check_config("config/")   # never raises for a bad config
    for problem in result.errors + result.warnings:
        print(problem)                  # file:line:col: key.path: message
    table = load_config("config/")     # or raise ConfigError

The rule language is specified in docs/RULES.md. Stages, one module each:
nodes (YAML -> located nodes), schema/sections/queues/routing (strict
section schemas), references (whole-config checks), compile (-> table).
"""

from router.config.errors import CheckResult, ConfigError, Problem
from router.config.loader import check_config, load_config

__all__ = ["load_config", "check_config", "CheckResult", "ConfigError", "Problem"]
