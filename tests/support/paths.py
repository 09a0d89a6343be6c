"""Where the project and the tests' recorded fixtures are."""

from __future__ import annotations

from pathlib import Path

#: The project's root (the folder holding router/, config/, tests/).
ROOT = Path(__file__).resolve().parents[2]
#: AMI traces recorded on a real Asterisk 22.10.1 (README.md there says how).
AMI_TRACES = ROOT / "tests" / "fixtures" / "ami"
