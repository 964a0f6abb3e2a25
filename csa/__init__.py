"""csa: durable, recursive sessions for AI coding CLIs."""

__version__ = "0.1.0"
