"""The front doors: ``passerelle serve | chat | demo | bench``.

- ``main``: the command line (Typer) and ``serve``, which starts the server in this process.
- ``chat/``: the terminal client, on the SDK.
- ``demo/``: three people on three apps talk through an in-process server, then the proof.
- ``bench/``: the load generator; the server under test runs in a child process.

Each command imports its package only when it runs, so ``passerelle --help`` loads none of them.
"""
