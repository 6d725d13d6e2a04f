"""The ASGI server: server.wiring builds the graph (the composition root), server.app serves it."""
