"""``passerelle chat``: a terminal client on the Python SDK (``command`` is the entry, ``session``
the interactive loop, ``view`` how people and apps are shown). A client: it never imports the
server side."""
