"""Every REST body of docs/protocol.md, declared once as msgspec Structs: what the server decodes
from requests and encodes into answers, and what the SDK and the bench send and read.

One module per capability (``accounts``, ``keys``, ``directory``, ``conversations``, ``groups``,
``media``, ``privacy``, ``stories``, ``errors``); ``base`` holds the two kinds of shape:

- ``Body``: a request body. Unknown members are refused (the server answers ``invalid_input``), and
  members left at their default are not sent (a client omits what it does not set).
- ``Answer``: a response body. Every member is sent, ``null`` included, except those typed
  ``UnsetType`` (present only in some answers); a reader ignores members it does not know (§7), and
  the defaults let it read an older server's answers.

Mapping to and from the service's records lives at the edges (``server.rest``, the SDK); nothing here
imports them.
"""
