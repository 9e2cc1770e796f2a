"""The package version, in one place (read by the User-Agent header and the build)."""

__version__ = "0.1.0"
