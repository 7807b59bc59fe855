"""Raw payloads in, events recorded: limits, JSON decoding, one payload to its events or a dead letter, and the
batch intake that writes them to the event log. Import the modules (``monitor.intake.batches``...): this package
loads nothing, so ``monitor.events`` can read the limits without a cycle."""
