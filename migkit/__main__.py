"""``python -m migkit`` runs the command line."""

import sys

from migkit.cli import main

sys.exit(main())
