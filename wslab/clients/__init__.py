"""What a cell drives: the browser-shaped WebSocket and the lessons' clients.

Each module is named after the lesson concept it serves (``chat``,
``reconnect``, ``heartbeat``, ``files``, ``feed``, ...), like its server in
:mod:`wslab.servers` and its view in :mod:`wslab.widgets`.
"""

__all__: list[str] = []
