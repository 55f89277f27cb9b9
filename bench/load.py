"""Load test: N concurrent HTTP clients against gunicorn + PostgreSQL on the 1M-contact tenant.

Starts gunicorn itself on 127.0.0.1, creates an API key for the service account
"load" of the tenant (default `bench`, seeded by bench/seed_contacts.py), samples
~2,000 live contacts for ids and search terms, then runs --clients threads for
--duration seconds, each with one keep-alive http.client connection, drawing
requests from a weighted mix:

    list    GET   /v1/contacts                      (first page, 50 rows)
    get     GET   /v1/contacts/{id}
    search  GET   /v1/contacts?search=…             (full name, surname, name and
                                                     number, e-mail, typed phone)
    patch   PATCH /v1/contacts/{id}  {"name": …}    (adds or changes a middle
                                                     initial: "Ada Lovelace 12" ->
                                                     "Ada K. Lovelace 12"; never grows)

Prints throughput, p50/p95/p99 latency overall and per kind, the error count (any
non-2xx or exception; the first few bodies are shown) and where the CPU went.
The API key is revoked at the end.

With --webhook, the run also pays for webhooks: one endpoint of the tenant is
subscribed to every event type, pointing at a local receiver that answers 204, and a
Celery worker on the `webhooks` queue (the project's default settings) fans the
PATCHes' events out and delivers them. Prints how many deliveries succeeded during the
measured run; the endpoint and its deliveries are deleted at the end. With --worker,
the same worker runs but no endpoint is subscribed: the deployment as it is before
anyone subscribes (every commit still asks for a fan-out, which finds no endpoint), the
baseline that --webhook is compared with. Both need a broker the web processes and the
worker share (CELERY_BROKER_URL=redis://…), and CACHE_URL=redis://… as production has,
so that the web processes coalesce their fan-outs as they do there.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/flownally_bench \\
        .venv/bin/python bench/load.py --clients 16 --duration 30
"""

import argparse
import http.client
import json
import os
import random
import re
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from _setup import django_setup, percentile, process_stop
from _web import HOST, web_start
from _webhooks import WORKER_ENV, Receiver, worker_start

KINDS = ("list", "get", "search", "patch")
INITIAL = re.compile(r"^[A-Z]\.$")


def parse_mix(text: str) -> dict[str, float]:
    weights = {}
    for part in text.split(","):
        kind, _, weight = part.partition("=")
        kind = kind.strip()
        if kind not in KINDS:
            raise argparse.ArgumentTypeError(f"unknown kind {kind!r}; use {', '.join(KINDS)}")
        try:
            weights[kind] = float(weight)
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad weight in {part!r}") from None
    if sum(weights.values()) <= 0:
        raise argparse.ArgumentTypeError("the weights must not all be zero")
    return weights


def base_name(name: str) -> list[str]:
    """The seeded name's words without a middle initial a previous run may have added."""
    words = name.split()
    return [w for i, w in enumerate(words) if not (i == 1 and INITIAL.match(w))]


def search_terms(sample: list[tuple], rng: random.Random, count: int) -> list[str]:
    """Terms people type, drawn from real rows: names, surnames, e-mails, typed phones."""
    terms = []
    while len(terms) < count:
        _, name, email, phone = rng.choice(sample)
        words = base_name(name or "")
        kind = rng.randrange(5)
        if kind == 0 and len(words) >= 3:
            terms.append(f"{words[0]} {words[1]}".lower())  # 'grace hopper': ~2,500 rows
        elif kind == 1 and len(words) >= 2:
            terms.append(words[1].lower())  # 'lovelace': ~50,000 rows
        elif kind == 2 and words:
            terms.append(" ".join(words))  # 'Ada Lovelace 123456': one row
        elif kind == 3 and email:
            terms.append(email)
        elif kind == 4 and phone and len(phone) == 12:
            terms.append(f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}")
    return terms


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """utime + stime of each process (all its threads), in seconds; gone processes are left out."""
    tick = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / tick
    return seconds


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def backends_of(database: str) -> list[int]:
    """PostgreSQL backends serving `database` (read from their process titles)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, UnicodeDecodeError):
                continue
            if title.startswith("postgres:") and f" {database} " in title:
                pids.append(int(entry.name))
    return pids


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except OSError:
        return []


class Webhook:
    """A worker on the `webhooks` queue and, if `subscribe`, one endpoint of the tenant
    subscribed to every event type with its receiver (204); `close()` deletes the
    endpoint and its deliveries."""

    def __init__(self, tenant, *, subscribe: bool) -> None:
        from flownally_admin.celery import app
        from webhooks.services import endpoint_create

        self.tenant, self.endpoint, self.worker, self.receiver = tenant, None, None, None
        try:
            # Fan-outs asked for by earlier runs' commits, which no worker consumed.
            with app.connection_for_write() as connection:
                connection.default_channel.queue_purge("webhooks")
            self.worker = worker_start(app)
            if subscribe:
                self.receiver = Receiver()
                self.endpoint, _ = endpoint_create(
                    tenant=tenant,
                    url=f"http://127.0.0.1:{self.receiver.port}/hook",
                    created_by="load",
                )
        except BaseException:
            self.close()
            raise

    def worker_pids(self) -> list[int]:
        return [self.worker.pid, *children(self.worker.pid)]

    def report(self, measured_from: float, measured_to: float) -> str:
        """Deliveries that succeeded between the two times, against the events committed
        between them (what the worker had to keep up with)."""
        if self.endpoint is None:
            return "webhook: no endpoint subscribed (the worker found none to deliver to)"
        from datetime import UTC, datetime

        from events.models import Event
        from webhooks.models import WebhookDelivery

        window = (
            datetime.fromtimestamp(measured_from, UTC),
            datetime.fromtimestamp(measured_to, UTC),
        )
        succeeded = WebhookDelivery.objects.filter(
            endpoint=self.endpoint, status="succeeded", last_attempt_at__range=window
        ).count()
        events = Event.objects.filter(
            tenant=self.tenant,
            sequence__gt=self.endpoint.subscribed_after,
            occurred_at__range=window,
        ).count()
        seconds = measured_to - measured_from
        return (
            f"webhook: {succeeded:,} deliveries succeeded during the measured run "
            f"({succeeded / seconds:.1f}/s), for {events:,} events committed in it"
        )

    def close(self) -> None:
        from webhooks.services import endpoint_delete

        if self.worker is not None:
            process_stop(self.worker)
        if self.receiver is not None:
            self.receiver.kill()
        if self.endpoint is not None:
            endpoint_delete(tenant=self.tenant, endpoint_id=self.endpoint.pk)


class Client(threading.Thread):
    def __init__(
        self, *, number, port, token, ids, names, terms, mix, start, warm_end, end, errors
    ):
        super().__init__(name=f"client-{number}", daemon=True)
        self.rng = random.Random(number)
        self.port, self.ids, self.names, self.terms = port, ids, names, terms
        self.kinds, self.weights = list(mix), list(mix.values())
        self.start_at, self.warm_end, self.end = start, warm_end, end
        self.errors = errors
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.samples: list[tuple[str, float, bool]] = []  # (kind, ms, ok) after the warm-up

    def _request(self, kind: str) -> tuple[str, str, bytes | None, dict]:
        if kind == "list":
            return "GET", "/v1/contacts", None, self.headers
        if kind == "get":
            return "GET", f"/v1/contacts/{self.rng.choice(self.ids)}", None, self.headers
        if kind == "search":
            query = urlencode({"search": self.rng.choice(self.terms)})
            return "GET", f"/v1/contacts?{query}", None, self.headers
        contact_id, words = self.rng.choice(self.names)
        initial = chr(ord("A") + self.rng.randrange(26))
        name = " ".join([words[0], f"{initial}.", *words[1:]])
        body = json.dumps({"name": name}).encode()
        headers = {**self.headers, "Content-Type": "application/json"}
        return "PATCH", f"/v1/contacts/{contact_id}", body, headers

    def run(self) -> None:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
        while time.monotonic() < self.start_at:
            time.sleep(0.005)
        while True:
            now = time.monotonic()
            if now >= self.end:
                break
            kind = self.rng.choices(self.kinds, self.weights)[0]
            method, url, body, headers = self._request(kind)
            started = time.perf_counter()
            try:
                connection.request(method, url, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                ok = 200 <= response.status < 300
                detail = f"{response.status} {payload[:300]!r}"
            except (OSError, http.client.HTTPException) as error:
                ok, detail = False, f"{type(error).__name__}: {error}"
                connection.close()
                connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            if now < self.warm_end:
                continue
            self.samples.append((kind, elapsed, ok))
            if not ok:
                with self.errors["lock"]:
                    self.errors["count"] += 1
                    if len(self.errors["first"]) < 5:
                        self.errors["first"].append(f"{kind} {method} {url}: {detail}")
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds not measured")
    # On 2 cores, 4 sync workers did best: at equal throughput (CPU-bound either way) they
    # keep p95 far lower than gthread, whose threads queue on the GIL, and cost less CPU.
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument(
        "--mix",
        type=parse_mix,
        default="list=30,get=40,search=20,patch=10",
        help="weights per kind (list, get, search, patch), e.g. list=30,get=40,search=20,patch=10",
    )
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--sample", type=int, default=2000, help="contacts sampled for ids")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--webhook",
        action="store_true",
        help="subscribe one endpoint to every event and run a worker delivering to it",
    )
    parser.add_argument(
        "--worker",
        action="store_true",
        help="run the webhooks worker but subscribe no endpoint (the baseline of --webhook)",
    )
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("set DATABASE_URL=postgres://… (the database seeded by bench/seed_contacts.py)")
    if args.webhook or args.worker:
        # endpoint_create here refuses http://127.0.0.1 otherwise; the web processes inherit
        # both settings too, which only matter to endpoints created through the API.
        os.environ.update(WORKER_ENV)

    django_setup()
    from django.db import connection as db

    from flownally_admin.tenancy.models import Tenant
    from flownally_admin.tenancy.services import (
        api_key_create,
        api_key_revoke,
        service_account_get_or_create,
    )

    tenant = Tenant.objects.get(slug=args.tenant)
    rng = random.Random(args.seed)
    with db.cursor() as cursor:
        # A few thousand rows from random heap pages; the tenant filter keeps to `bench`.
        cursor.execute(
            "SELECT id, name, custom_fields->>'cf_email', custom_fields->>'cf_phone' "
            "FROM contacts_contact TABLESAMPLE SYSTEM (0.5) REPEATABLE (%s) "
            "WHERE tenant_id = %s AND deleted_at IS NULL",
            [args.seed, tenant.pk],
        )
        rows = cursor.fetchall()
    if len(rows) < 100:
        sys.exit(f"tenant {args.tenant!r} has too few contacts ({len(rows)} sampled); seed it")
    sample = rng.sample(rows, min(args.sample, len(rows)))
    ids = [row[0] for row in sample]
    names = [(row[0], base_name(row[1])) for row in sample if row[1] and len(row[1].split()) >= 2]
    terms = search_terms(sample, rng, 500)
    account = service_account_get_or_create(tenant=tenant, name="load")
    key, token = api_key_create(service_account=account, role="agent")
    hook = Webhook(tenant, subscribe=args.webhook) if args.webhook or args.worker else None
    database = db.settings_dict["NAME"]
    db.close()  # the server has the database to itself during the run

    web = None
    worker_pids = hook.worker_pids if hook else list
    measured_from = measured_to = None
    try:
        web = web_start(
            args.port,
            workers=args.workers,
            options=("-k", args.worker_class, "--threads", str(args.threads)),
        )
        errors = {"lock": threading.Lock(), "count": 0, "first": []}
        start = time.monotonic() + 0.5
        warm_end = start + args.warmup
        end = warm_end + args.duration
        clients = [
            Client(
                number=args.seed * 1000 + n,
                port=args.port,
                token=token,
                ids=ids,
                names=names,
                terms=terms,
                mix=args.mix,
                start=start,
                warm_end=warm_end,
                end=end,
                errors=errors,
            )
            for n in range(args.clients)
        ]
        for client in clients:
            client.start()
        while time.monotonic() < warm_end:
            time.sleep(0.01)
        measured_from = time.time()
        cpu_before = (
            cpu_seconds([web.pid, *children(web.pid)]),
            cpu_seconds(backends_of(database)),
            cpu_seconds([os.getpid()]),
            machine_busy(),
            cpu_seconds(worker_pids()),
        )
        for client in clients:
            client.join(timeout=max(0.0, end - time.monotonic()) + 60)
        measured = time.monotonic() - warm_end
        measured_to = time.time()
        cpu_after = (
            cpu_seconds([web.pid, *children(web.pid)]),
            cpu_seconds(backends_of(database)),
            cpu_seconds([os.getpid()]),
            machine_busy(),
            cpu_seconds(worker_pids()),
        )
    finally:
        if web is not None:
            process_stop(web)
        api_key_revoke(key=key)
        if hook:
            try:  # counted before close() deletes them
                if measured_to is not None:
                    hook_report = hook.report(measured_from, measured_to)
            finally:
                hook.close()

    samples = [s for client in clients for s in client.samples]
    mix = ", ".join(f"{k}={w:g}" for k, w in args.mix.items())
    server = f"{args.workers} {args.worker_class} worker(s)"
    if args.worker_class == "gthread":
        server += f" x {args.threads} threads"
    print(f"tenant {args.tenant!r}, gunicorn {server}, {args.clients} clients, mix {mix}")
    print(f"{len(ids):,} sampled contact ids, {len(set(terms)):,} distinct search terms")
    print(f"requests: {len(samples):,} in {measured:.1f} s (after {args.warmup:g} s warm-up)")
    print(f"throughput: {len(samples) / measured:.1f} req/s")
    print(f"errors: {errors['count']}")
    for line in errors["first"]:
        print(f"  {line}")
    print(f"\n{'kind':<8} {'requests':>9} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for kind in ("all", *KINDS):
        times = [ms for k, ms, _ in samples if kind in ("all", k)]
        if not times:
            continue
        print(
            f"{kind:<8} {len(times):>9,} {len(times) / measured:>7.1f} "
            f"{percentile(times, 0.5):>8.1f} {percentile(times, 0.95):>8.1f} "
            f"{percentile(times, 0.99):>8.1f}"
        )
    tick = os.sysconf("SC_CLK_TCK")
    busy = (cpu_after[3][0] - cpu_before[3][0]) / tick
    total = (cpu_after[3][1] - cpu_before[3][1]) / tick
    used = [
        cpu_used(before, after) for before, after in zip(cpu_before[:3], cpu_after[:3], strict=True)
    ]
    per_request = [1000 * seconds / max(len(samples), 1) for seconds in used]
    print(
        f"\nCPU over the measured run ({os.cpu_count()} cores, {total:.0f} core-seconds): "
        f"machine {100 * busy / max(total, 1):.0f} % busy, "
        f"{1000 * busy / max(len(samples), 1):.1f} ms of CPU per request in all\n"
        f"  gunicorn {used[0]:.1f} s ({per_request[0]:.1f} ms/request), "
        f"postgres backends {used[1]:.1f} s ({per_request[1]:.1f} ms/request), "
        f"load clients {used[2]:.1f} s, other processes {max(0.0, busy - sum(used)):.1f} s"
    )
    if hook:
        print(
            f"  of which the webhooks worker {cpu_used(cpu_before[4], cpu_after[4]):.1f} s "
            "(its PostgreSQL backends are among the backends above)"
        )
        print(hook_report)


if __name__ == "__main__":
    main()
