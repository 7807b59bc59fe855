"""After a match: routing, grouping, dedup, silences, templates and Apprise delivery, as separate stages."""
