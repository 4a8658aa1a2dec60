"""Pure logic: the course's protocols, rules and state machines, without I/O.

Nothing here opens a socket, starts a thread or a loop, or takes a lock: every
module is single-threaded data and functions, tested without a network. The
layer rules in ``pyproject.toml`` ([tool.importlinter]) keep it that way.
This package imports nothing on purpose: a module is loaded when it is used.
"""

__all__: list[str] = []
