"""The WebSocket edge: the gateway (one connection loop over two WebSocket layers, ``asgi`` and
``picows``), the connection (which owns its delivery cursor), the hub (which only routes mailbox
items to connections), admission caps and token expiry."""
