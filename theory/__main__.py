"""Entry point: ``python -m theory predict|solve|implies|prove`` (see theory/_cli.py)."""

import sys

from ._cli import main

sys.exit(main())
