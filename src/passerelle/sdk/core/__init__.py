"""What every capability stands on: the sans-I/O protocol core (``protocol``), the WebSocket
``transport`` and the live ``connection`` (sends that wait for their answer, background jobs),
event ``dispatch``, the device's ``credentials`` (token, one-time keys) and its ``enrol``ment."""
