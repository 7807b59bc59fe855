"""Raw payloads in, events recorded: one payload to its events or a dead letter, and the batch intake that writes
them to the event log. Import the modules (``monitor.intake.batches``...): this package loads nothing. The
limits and the bounded JSON reading it shares with the inputs and adapters are ``monitor.limits`` and
``monitor.jsondoc``."""
