"""The rules engine: event patterns, rule loading, indexing and evaluation."""
