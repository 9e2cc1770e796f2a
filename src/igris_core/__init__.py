"""Igris gateway core."""
