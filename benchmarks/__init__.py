"""Standalone measurements of Passerelle and their figures (see README.md): ``ws_layers/`` and
``store_bench.py`` are the studies behind design choices, ``web_budget.py`` measures the browser apps,
``latest.json`` holds the last figures of ``passerelle bench`` (the load generator itself is
``passerelle.cli.bench``)."""

from __future__ import annotations
