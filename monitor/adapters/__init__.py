"""Pure functions from raw provider payloads to normalized events; no network, no SDK calls.

Each module registers its adapters when imported, which happens when a payload first gets that far in the
registry's order (``monitor.adapters.base.adapters``).
"""

from monitor.adapters.base import UnreadablePayload, adapters, normalize

__all__ = ["UnreadablePayload", "adapters", "normalize"]
