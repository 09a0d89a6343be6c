"""`python -m router ...` is the `router` command."""

import sys

from router.present.cli import main

sys.exit(main())
