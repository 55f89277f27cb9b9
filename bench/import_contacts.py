"""End-to-end CSV import speed: generate a file, upload it through the API, time the worker.

Starts gunicorn and one Celery worker (solo pool, the `imports` queue) itself,
against DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis); creates a
fresh tenant; generates N realistic rows (name, e-mail, phone, WhatsApp, tags,
two custom fields, 1 % bad rows); uploads; polls until done. Prints rows/s, the
time to first progress, and the peak RSS of the worker, of its checking process and of
the web process. `--again` then imports the same file a second time, as a re-import of
an export would: every row matches a contact it does not change.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/flownally_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/import_contacts.py --rows 100000
"""

import argparse
import http.client
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _setup import ROOT, django_setup

PORT = 8765
# How often the status is polled, as a client would: each poll is a request the web
# process serves on the same two cores as the import.
POLL_SECONDS = 0.25
FIRST = ["Ada", "Alan", "Grace", "Linus", "Barbara", "Ken", "Radia", "Tim", "Hedy", "Guido"]
LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Thompson", "Perlman", "Lamarr"]


def write_csv(path: Path, rows: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("name,email,phone,whatsapp,tags,Renewal,Plan\n")
        for n in range(rows):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {n}"
            email = f"person{n}@example{n % 53}.com"
            phone = f"+1 (212) {200 + n // 10000 % 800:03d}-{n % 10000:04d}" if n % 3 else ""
            whatsapp = f"+44 20 7{n // 10000 % 1000:03d} {n % 10000:04d}" if n % 2 else ""
            tags = ";".join(rng.sample(["vip", "newsletter", "trial", "churn-risk"], n % 3))
            renewal = f"2027-{n % 12 + 1:02d}-{n % 28 + 1:02d}"
            if n % 100 == 99:  # 1 % bad rows: a broken e-mail or date
                email, renewal = (
                    ("not-an-email", renewal) if n % 200 == 99 else (email, "2027-02-30")
                )
            out.write(
                f"{name},{email},{phone},{whatsapp},{tags},{renewal},{rng.choice(['free', 'pro'])}\n"
            )


class _Chain(io.RawIOBase):
    """Several readable parts as one stream, for a multipart body of known length."""

    def __init__(self, parts):
        self.parts = list(parts)

    def readable(self):
        return True

    def readinto(self, buffer):
        while self.parts:
            chunk = self.parts[0].read(len(buffer))
            if chunk:
                buffer[: len(chunk)] = chunk
                return len(chunk)
            self.parts.pop(0)
        return 0


def upload(path: Path, token: str) -> str:
    boundary = "benchboundary7d3f"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{path.name}"\r\nContent-Type: text/csv\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + path.stat().st_size + len(tail)
    with path.open("rb") as file:
        body = io.BufferedReader(_Chain([io.BytesIO(head), file, io.BytesIO(tail)]))
        connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=600)
        connection.request(
            "POST",
            "/v1/contacts/import",
            body=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(length),
            },
        )
        response = connection.getresponse()
        payload = json.loads(response.read())
    if response.status != 202:
        raise SystemExit(f"upload failed: {response.status} {payload}")
    return payload["id"]


def status(import_id: str, token: str) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    connection.request(
        "GET", f"/v1/contacts/imports/{import_id}", headers={"Authorization": f"Bearer {token}"}
    )
    return json.loads(connection.getresponse().read())


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of its children that have ended (the checking
    process is waited for at the end of each import): on a machine shared with other work,
    steadier than the wall-clock time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    return _status_mb(pid, "VmHWM:")


def rss_mb(pid: int) -> float:
    """Current RSS; 0 for a process that has just ended."""
    try:
        return _status_mb(pid, "VmRSS:")
    except FileNotFoundError:
        return 0.0


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_for_port(deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/healthz")
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the web server did not start")


def start_web_and_worker(**env_extra: str) -> tuple[subprocess.Popen, subprocess.Popen]:
    """gunicorn (one worker) on PORT and a Celery worker (solo pool, the `imports` queue of
    bulk jobs), on this process's database and broker; `env_extra` adds settings."""
    env = {
        **os.environ,
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key"),
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        **env_extra,
    }
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "flownally_admin.wsgi",
            "-b",
            f"127.0.0.1:{PORT}",
            "-w",
            "1",
            "--timeout",
            "600",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "flownally_admin",
            "worker",
            "--pool=solo",
            "-Q",
            "imports",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
    )
    return web, worker


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--again",
        action="store_true",
        help="then import the same file again into the same tenant: every row matches a "
        "contact and changes nothing (the round trip of an export)",
    )
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("set DATABASE_URL=postgres://… (and CELERY_BROKER_URL=redis://…)")

    django_setup()
    from customfields.services import custom_field_definition_create
    from flownally_admin.tenancy.services import (
        api_key_create,
        service_account_get_or_create,
        tenant_get_or_create,
    )

    tenant = tenant_get_or_create(slug=f"import-bench-{int(time.time())}")
    for name, type_ in [("Renewal", "date"), ("Plan", "text")]:
        custom_field_definition_create(
            tenant=tenant, entity_type="contact", name=name, type=type_, created_by="system"
        )
    account = service_account_get_or_create(tenant=tenant, name="bench")
    _, token = api_key_create(service_account=account, role="owner")

    web, worker = start_web_and_worker()
    try:
        wait_for_port(time.monotonic() + 60)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"contacts-{args.rows}.csv"
            write_csv(path, args.rows)
            print(f"file: {args.rows:,} rows, {path.stat().st_size / 1e6:.1f} MB")
            run(path, token, args.rows, worker)
            if args.again:
                print("\nthe same file again (upsert):")
                run(path, token, args.rows, worker)
        print(f"worker peak RSS: {peak_rss_mb(worker.pid):.0f} MB")
        print(f"web peak RSS: {max(peak_rss_mb(p) for p in [*_children(web.pid), web.pid]):.0f} MB")
    finally:
        for process in (web, worker):
            process.terminate()
            process.wait(timeout=30)


def run(path: Path, token: str, rows: int, worker) -> None:
    """Upload `path`, poll until the import ends, print its figures."""
    cpu_before = cpu_seconds(worker.pid)
    started = time.monotonic()
    import_id = upload(path, token)
    uploaded = time.monotonic()
    first_progress = None
    checker_rss = 0.0
    while True:
        body = status(import_id, token)
        if first_progress is None and body["processedRows"]:
            first_progress = time.monotonic()
        if body["status"] in ("completed", "failed"):
            break
        checker_rss = max([checker_rss, *map(rss_mb, _children(worker.pid))])
        time.sleep(POLL_SECONDS)
    elapsed = time.monotonic() - started
    print(f"status: {body['status']} {body['failure'] or ''}")
    print(
        f"created {body['createdCount']:,}  updated {body['updatedCount']:,}  "
        f"skipped {body['skippedCount']:,}  failed {body['failedCount']:,}"
    )
    print(f"upload (202): {uploaded - started:.2f} s")
    print(f"time to first progress: {(first_progress or started + elapsed) - started:.2f} s")
    print(f"total: {elapsed:.2f} s  ->  {rows / elapsed:,.0f} rows/s")
    print(f"worker CPU (with its checking process): {cpu_seconds(worker.pid) - cpu_before:.2f} s")
    print(f"checking process RSS (largest seen): {checker_rss:.0f} MB")


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


if __name__ == "__main__":
    main()
