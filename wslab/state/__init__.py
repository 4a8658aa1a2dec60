"""Thread-safe, observable state that a server's thread and the kernel's share.

A lesson server changes these objects on its own thread while a cell or a
widget reads them on the kernel's: each holds a lock, and tells its observers
(:class:`~wslab.state.observable.Observers`) what changed. No sockets, loops
or threads of their own; the logic they guard lives in :mod:`wslab.core`.
"""

__all__: list[str] = []
