"""``python -m wslab``: see :mod:`wslab.cli`."""

import sys

from .cli import main

sys.exit(main())
