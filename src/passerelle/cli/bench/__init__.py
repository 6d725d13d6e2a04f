"""The load generator behind ``passerelle bench``: a real server in its own process, real accounts
registered over REST, lean WebSocket clients (picows) and three scenarios.

- ``options``: what a run measures (``BenchOptions``).
- ``server``: starting and stopping ``passerelle serve`` as a child process; ``procstat`` reads its
  CPU time and memory from /proc.
- ``identity`` registers accounts; ``envelopes`` builds send frames with a time stamp inside;
  ``client`` is one WebSocket connection and the shared ``Recorder``.
- ``scenarios`` runs (a) saturated, (b) open loop and (c) offline drain; ``runner`` composes a run;
  ``figures`` turns counts into figures; ``report`` prints them; ``command`` is the CLI entry.

Nothing here runs at import time, and the server package is never imported: the bench is a client.
"""

from __future__ import annotations
