"""`python -m inference`: the headless command (see `cli`)."""

import sys

from .cli import main

sys.exit(main())
