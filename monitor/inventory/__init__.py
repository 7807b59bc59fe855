"""Pull mode: an input that lists cloud resources on a schedule, diffs each snapshot against the previous one
and records the differences as ordinary events, so the rules that read pushed notifications fire on found
changes too; a change no pushed event explains is marked ``details.unexplained`` (reconciliation).

Modules: ``settings`` (the input's config), ``sessions`` (boto3 sessions per account, assumed roles),
``aws_s3`` / ``aws_dynamodb`` / ``aws_ec2`` / ``gcp_storage`` / ``gcp_compute`` (collectors: resources to small
normalized snapshots; ``gcp_api`` the Google JSON APIs), ``types`` (what a collector is), ``diff``
(snapshots to changes), ``changes`` (changes to events), ``memory`` (the previous snapshots, in the store),
``reconcile`` (was a change pushed?), ``runner`` (one pass of one type) and ``source`` (the scheduled input).
"""
