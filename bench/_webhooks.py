"""Shared by the bench scripts that deliver webhooks (bench/webhooks.py, bench/load.py
--webhook): a local receiver that answers 204, and a Celery worker on the `webhooks` queue.

The receiver is a process of its own (this file, run with --serve) so that its CPU and
its GIL are not the measuring script's.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _setup import ROOT, process_stop

# What a worker needs to deliver to http://127.0.0.1: the project refuses both by default.
WORKER_ENV = {"WEBHOOKS_ALLOW_HTTP": "true", "WEBHOOKS_ALLOW_PRIVATE_NETWORKS": "true"}


def serve(port_file: str, out_file: str) -> None:
    """The receiver: 204 to everything; on SIGTERM writes {webhook-id: arrival time}."""
    arrivals: dict[str, float] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length", 0)))
            arrivals.setdefault(self.headers["webhook-id"], time.time())
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True

    def stop(*_):
        with open(out_file, "w") as out:
            json.dump(arrivals, out)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    with open(port_file, "w") as out:
        out.write(str(server.server_address[1]))
    server.serve_forever()


class Receiver:
    """The receiver process: `port` once started; `stop()` returns its arrivals."""

    def __init__(self) -> None:
        work = tempfile.mkdtemp(prefix="bench-webhooks-")
        self._port_file, self._arrivals_file = f"{work}/port", f"{work}/arrivals.json"
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", self._port_file, self._arrivals_file], cwd=ROOT
        )
        deadline = time.monotonic() + 30
        while not os.path.exists(self._port_file) or not Path(self._port_file).read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise SystemExit("the webhook receiver did not start")
            time.sleep(0.05)
        self.port = int(Path(self._port_file).read_text())

    def stop(self) -> dict[str, float]:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait()
        with open(self._arrivals_file) as data:
            return json.load(data)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def worker_start(app) -> subprocess.Popen:
    """A worker with the project's default settings on the `webhooks` queue (fan-outs and
    deliveries both run there), returned once it answers a ping."""
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "flownally_admin",
            "worker",
            "-Q",
            "webhooks",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "-n",
            "bench@%h",
        ],
        cwd=ROOT,
        env={**os.environ, **WORKER_ENV, "CELERY_TASK_ALWAYS_EAGER": "false"},
    )
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        if worker.poll() is not None or time.monotonic() > deadline:
            process_stop(worker)
            raise SystemExit("the Celery worker did not start")
    return worker


if __name__ == "__main__":
    serve(sys.argv[2], sys.argv[3])
