"""gunicorn for the bench scripts that measure through HTTP, served as in production."""

import http.client
import os
import subprocess
import sys
import time

from _setup import ROOT, process_stop

HOST = "127.0.0.1"


def web_start(port: int, *, workers: int = 1, options: tuple[str, ...] = ()) -> subprocess.Popen:
    """gunicorn on HOST:`port` with production settings (no debug, no SSL redirect), on
    this process's database; returns once it answers /healthz. `options` are more of
    gunicorn's command-line options (a worker class, threads)."""
    env = {
        **os.environ,
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key"),
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": HOST,
        "LOG_LEVEL": "WARNING",
        "DJANGO_DEBUG": "false",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "flownally_admin.wsgi",
        "-b",
        f"{HOST}:{port}",
        "-w",
        str(workers),
        *options,
        "--timeout",
        "60",
        "--log-level",
        "warning",
        # Not the project's gunicorn.conf.py, which gunicorn would read from the folder: its
        # access log (a line per request on stdout) is the proxy's business, not the app's,
        # and would make figures of commits before and after it incomparable.
        "--config",
        "/dev/null",
    ]
    web = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        _wait_for_health(port, web, time.monotonic() + 60)
    except BaseException:
        process_stop(web)
        raise
    return web


def _wait_for_health(port: int, web: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise SystemExit(f"gunicorn exited with {web.returncode}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                connection.close()
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz in time")
