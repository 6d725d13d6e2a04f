"""``passerelle demo``: three people on three apps talk through a real server in this process, then
the proof that the server kept no plaintext (``command`` is the entry)."""
