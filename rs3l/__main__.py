"""``python -m rs3l`` (and ``torchrun -m rs3l``) runs the command line."""

import sys

from rs3l.cli import main

sys.exit(main())
