"""TCP services and processes put on the path of a connection or behind it.

The wire tap, the idle-killing middlebox, the round-robin balancer, the
counting proxy, the Redis box and the cluster's server processes: each runs
on a thread (or as a process) of its own and is kept, replaced and stopped
like a lesson server.
"""

__all__: list[str] = []
