"""``python -m benchmarks [options]``: the same as ``passerelle bench [options]``."""

from __future__ import annotations

import sys

from passerelle.cli.main import app

app(args=["bench", *sys.argv[1:]], prog_name="python -m benchmarks")
