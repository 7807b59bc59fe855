"""Pure functions from raw provider payloads to normalized events; no network, no SDK calls."""

from monitor.adapters.base import UnreadablePayload, adapters, normalize

# Importing a module registers its adapters; each accepts only its own precise shape.
from monitor.adapters import envelopes, s3, cloudtrail, ec2, dynamodb, awsconfig  # noqa: F401  # isort: skip
from monitor.adapters import gcp_pubsub, gcs, gcp_audit, gcp_cloudevents  # noqa: F401  # isort: skip

__all__ = ["UnreadablePayload", "adapters", "normalize"]
