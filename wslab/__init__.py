"""wslab: learn WebSockets with real servers running inside your notebook."""
