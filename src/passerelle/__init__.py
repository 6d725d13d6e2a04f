"""Passerelle: one end-to-end encrypted messaging back end shared by several independent apps."""

__version__ = "0.1.0"
