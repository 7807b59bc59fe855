"""A chat receiver for the demo: prints each message Apprise posts to json://127.0.0.1:PORT/, then exits when told.

Run: ``python examples/demo/receiver.py --port 8765`` (stops on Ctrl-C or after --seconds).
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class PrintingHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            message = json.loads(body)
            text = f"{message.get('title', '')}\n{message.get('message', '')}"
        except ValueError:
            text = body.decode("utf-8", "replace")
        print(f"\n=== chat message received ===\n{text}\n", flush=True)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seconds", type=float, default=120, help="stop by itself after this long")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), PrintingHandler)
    threading.Timer(args.seconds, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
