"""The source file Cloud Functions loads: the function is ``handle`` (``--entry-point=handle``).

functions-framework runs this file inside its app's context, so what it cannot read is kept as well.
"""

import flask

from monitor.serverless.gcp import handle, keep_unreadable_requests

keep_unreadable_requests(flask.current_app)

__all__ = ["handle"]
