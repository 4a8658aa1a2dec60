"""Test-wide settings, shared by the unit tests and the notebooks under nbval.

The lessons' durations are nominal (a 600 ms delay, a 30 s heartbeat); tests
run them twenty times faster. Notebook kernels inherit this environment.
A value already set (say, WSLAB_TIME_SCALE=1 to watch at full speed) wins.
"""

import os

os.environ.setdefault("WSLAB_TIME_SCALE", "0.05")
