"""``python -m wslab``: see :mod:`wslab.cli`."""

import sys

from wslab.cli import main

sys.exit(main())
