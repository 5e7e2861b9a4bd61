"""``python -m kefu_standards`` runs the command line."""

import sys

from .cli import main

sys.exit(main())
