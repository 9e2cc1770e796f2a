"""Backends that answer a connection's calls: ``echo``, ``script`` and ``forward``."""
