"""Shared start-up for the bench scripts: Django on the database of DATABASE_URL."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flownally_admin.settings")
    # Not a developer's .env (debug on): what is measured runs as in production, and so do
    # the servers the scripts start, which inherit this environment.
    os.environ.setdefault("FLOWNALLY_ENV_FILE", "")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    import django

    django.setup()


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def process_stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it has not ended within 30 s (a worker, gunicorn)."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
