"""Benchmarks of Passerelle. ``python -m benchmarks`` is ``passerelle bench`` (see README.md);
``ws_layers/`` and ``store_bench.py`` are the studies behind the design choices."""

from __future__ import annotations
