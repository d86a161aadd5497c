"""logstream: `tail -F` for a whole log directory, over Server-Sent Events."""

__version__ = "0.1.0"
