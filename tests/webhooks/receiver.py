"""A real HTTP receiver for webhook tests: http.server on 127.0.0.1, in a thread.

It records every request it reads and answers as `answer` says: a status code,
or "hang" (no answer until released), "reset" (a TCP reset), "garbage" (bytes
that are not HTTP).
"""

import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, answer=204, port=0):
        self.answer = answer
        self.requests: list[tuple[dict, bytes]] = []
        self.released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def bodies(self) -> list[bytes]:
        return [body for _, body in self.requests]

    def message_ids(self) -> set[str]:
        return {headers["webhook-id"] for headers, _ in self.requests}

    def stop(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                answer = receiver.answer
                if answer == "hang":
                    receiver.released.wait(60)
                    self.close_connection = True
                elif answer == "reset":
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.connection.close()  # at once: the server's own close would FIN first
                    self.close_connection = True
                elif answer == "close":
                    self.close_connection = True
                elif answer == "garbage":
                    self.wfile.write(b"\x00\x01 this is not HTTP\r\n\r\n")
                    self.close_connection = True
                else:
                    self.send_response(answer)
                    if 300 <= answer < 400:
                        self.send_header("location", "http://127.0.0.1:9/elsewhere")
                    self.send_header("content-length", "0")
                    self.end_headers()

            def log_message(self, *args):
                pass

        return Handler
