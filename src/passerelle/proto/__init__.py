"""The Passerelle wire protocol, sans-I/O: frames, codec and the two session state machines.

Nothing here does I/O, reads a clock or draws random numbers: sessions take the bytes of one
WebSocket message and return typed events, and turn frames into bytes to write.
"""

PROTOCOL_VERSION = 1
