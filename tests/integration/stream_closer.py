"""A TCP proxy in front of the Pub/Sub emulator that ends a dead client's gRPC streams for it.

Real Pub/Sub stops sending to a streaming pull whose client died (its connection dropped). The emulator never
notices (see test_pubsub_input.py) and goes on leasing messages to every stream a killed daemon left, oldest
first, so after a few ``kill -9`` most messages sit out lease after lease on dead streams. This proxy passes the
bytes through unchanged and follows the client's HTTP/2 frames (a 9-byte header each: length, type, flags,
stream id) to know which request streams it left open; when the client's side of the connection ends, it sends
the emulator an empty DATA frame with END_STREAM on each, the half-close the emulator handles, and closes the
connection a moment later. Messages the dead daemon held still come back only when their lease ends, as with
real Pub/Sub.
"""

from __future__ import annotations

import socket
import threading
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM = 0x0, 0x1, 0x3
END_STREAM = 0x1
LINGER_SECONDS = 2.0  # how long the emulator gets to close the ended streams before the connection goes


def frames(buffer: bytearray) -> list[tuple[int, int, int, bytes]]:
    """Takes every complete frame off the front of ``buffer``: (type, flags, stream id, the frame's bytes)."""
    found = []
    while len(buffer) >= 9:
        length = int.from_bytes(buffer[:3], "big")
        if len(buffer) < 9 + length:
            break
        kind, flags, stream = buffer[3], buffer[4], int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
        found.append((kind, flags, stream, bytes(buffer[:9 + length])))
        del buffer[:9 + length]
    return found


def end_stream(stream: int) -> bytes:
    return (0).to_bytes(3, "big") + bytes([DATA, END_STREAM]) + stream.to_bytes(4, "big")


class StreamCloser:
    """Listens on 127.0.0.1:``port`` and forwards each connection to ``upstream`` (host:port)."""

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.rpartition(":")
        self.upstream = (host, int(port))
        self.ended = 0  # streams it ended for a dead client
        self._server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._to_client, args=(server, client), daemon=True).start()
            threading.Thread(target=self._to_server, args=(client, server), daemon=True).start()

    @staticmethod
    def _to_client(server: socket.socket, client: socket.socket) -> None:
        """The emulator's bytes to the client; once the client is gone, read and drop them."""
        alive = True
        while chunk := _receive(server):
            if alive:
                try:
                    client.sendall(chunk)
                except OSError:
                    alive = False

    def _to_server(self, client: socket.socket, server: socket.socket) -> None:
        """The client's bytes to the emulator, a whole frame at a time; then the end of what it left open."""
        buffer, opened, preface = bytearray(), set(), b""
        while chunk := _receive(client):
            if len(preface) < len(PREFACE):
                taken = chunk[:len(PREFACE) - len(preface)]
                preface += taken
                server.sendall(taken)
                chunk = chunk[len(taken):]
            buffer += chunk
            for kind, flags, stream, frame in frames(buffer):
                if kind == HEADERS and stream % 2:
                    opened.add(stream)
                if kind == RST_STREAM or (kind in (DATA, HEADERS) and flags & END_STREAM):
                    opened.discard(stream)
                server.sendall(frame)
        client.close()
        try:
            for stream in sorted(opened):
                server.sendall(end_stream(stream))
                self.ended += 1
            time.sleep(LINGER_SECONDS)
        except OSError:
            pass
        server.close()


def _receive(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""
