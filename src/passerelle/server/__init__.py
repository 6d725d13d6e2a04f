"""The ASGI server: create_app(settings) is the composition root."""
