"""Threads and loops: where servers and clients run beside the kernel.

A loop on a thread of its own (:mod:`~wslab.runtime.loopthread`), a registry
that replaces and stops what it keeps (:mod:`~wslab.runtime.keeper`), the
runner that keeps lesson servers listening, fault injection, and TLS.
"""

__all__: list[str] = []
