"""YAML files as the config and the rules are written: values with their line:col, strict models, durations,
and validation errors that point at the text."""
