"""The command line: parses arguments and calls library code (``monitor``, the console script)."""

from monitor.cli.main import main

__all__ = ["main"]
