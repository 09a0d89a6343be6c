"""A fake Asterisk 22 speaking AMI over TCP (see simulator.py and
docs/ASTERISK.md)."""

from router.sim.pbx.records import OUTCOMES, CallRecord
from router.sim.pbx.simulator import PbxSimulator

__all__ = ["PbxSimulator", "CallRecord", "OUTCOMES"]
