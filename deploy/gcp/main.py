"""The source file Cloud Functions loads: the function is ``handle`` (``--entry-point=handle``)."""

from monitor.serverless.gcp import handle

__all__ = ["handle"]
