"""Sending one delivery: a signed POST to an address that was checked, within the timeout.

`PinnedBackend` is the network layer under httpx. It resolves the host itself,
refuses the connection when any address is not allowed (webhooks/addresses.py),
and connects to the address it checked; TLS still verifies the certificate for
the host name (SNI) and the Host header is the URL's, so a DNS answer that
changes between a check and the connection cannot sneak past. It also holds
each request to one deadline, however slowly the receiver dribbles its answer.
"""

import functools
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpcore
import httpx
from django.conf import settings
from standardwebhooks.webhooks import Webhook

from .addresses import address_allowed, literal_address

USER_AGENT = "Flownally-Webhooks/1.0"
# What is read of an answer: only its status matters.
MAX_RESPONSE_BYTES = 64 * 1024


class BlockedAddress(Exception):
    """The host resolves to an address webhooks may not connect to."""


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, backend: "PinnedBackend"):
        self._stream = stream
        self._backend = backend

    def read(self, max_bytes, timeout=None):
        return self._stream.read(max_bytes, self._backend.time_left(timeout))

    def write(self, buffer, timeout=None):
        self._stream.write(buffer, self._backend.time_left(timeout))

    def close(self):
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        stream = self._stream.start_tls(
            ssl_context, server_hostname, self._backend.time_left(timeout)
        )
        return _DeadlineStream(stream, self._backend)

    def get_extra_info(self, info):
        return self._stream.get_extra_info(info)


class PinnedBackend(httpcore.NetworkBackend):
    def __init__(self):
        self._tcp = httpcore.SyncBackend()
        self.deadline = float("inf")

    def time_left(self, timeout: float | None) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("The delivery's time is up.")
        return left if timeout is None else min(timeout, left)

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        address = self._checked_address(host, port)
        stream = self._tcp.connect_tcp(
            address, port, self.time_left(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise BlockedAddress("Webhooks connect over TCP only.")

    def sleep(self, seconds):
        time.sleep(seconds)

    def _checked_address(self, host: str, port: int) -> str:
        literal = literal_address(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError) as exc:
                raise httpcore.ConnectError(f"Cannot resolve {host}: {exc}") from exc
            addresses = [literal_address(info[4][0].partition("%")[0]) for info in infos]
        # Every answer is checked, not only the one used: a name that can mean an
        # internal address is refused outright.
        if not addresses or not all(a is not None and address_allowed(a) for a in addresses):
            raise BlockedAddress(host)
        return str(addresses[0])


@dataclass(frozen=True)
class Attempt:
    """What one POST came to. `error` is a stable code, empty on success."""

    succeeded: bool
    response_status: int | None
    error: str
    duration_ms: int
    # The receiver could not be reached at all: later deliveries would fare no better now.
    unreachable: bool = False


def signature(*, secrets: list[str], message_id: str, timestamp: datetime, body: str) -> str:
    """`webhook-signature`: one `v1,…` per secret (two during a rotation), space-separated."""
    return " ".join(
        Webhook(secret).sign(msg_id=message_id, timestamp=timestamp, data=body)
        for secret in secrets
    )


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One per process, shared by its senders: building one loads the CA bundle, ~13 ms of
    CPU, which each run of deliveries paid twice; at a pace a worker keeps up with, a run
    is one delivery, and the two contexts cost more than the rest of its work."""
    return httpx.create_ssl_context(trust_env=False)


class Sender:
    """An HTTP client for one worker's run of deliveries: keeps connections alive, follows
    no redirect, reads no proxy settings from the environment (a proxy would make the
    address check moot)."""

    def __init__(self):
        self._backend = PinnedBackend()
        transport = httpx.HTTPTransport(verify=_ssl_context(), trust_env=False)
        # httpx takes no network backend: its transport's pool is replaced by one with ours.
        transport._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=1,
            keepalive_expiry=5.0,
            network_backend=self._backend,
        )
        self._client = httpx.Client(
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            timeout=settings.WEBHOOKS_TIMEOUT_SECONDS,
            headers={"user-agent": USER_AGENT},
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._client.close()

    def send(self, *, url: str, message_id: str, body: str, secrets: list[str]) -> Attempt:
        """POST `body` to `url`, signed with each of `secrets`, within WEBHOOKS_TIMEOUT_SECONDS."""
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature(
                secrets=secrets, message_id=message_id, timestamp=now, body=body
            ),
        }
        started = time.monotonic()
        self._backend.deadline = started + settings.WEBHOOKS_TIMEOUT_SECONDS
        try:
            status = self._post(url, body, headers)
        except BlockedAddress:
            return _attempt(started, None, "blocked_address", unreachable=True)
        except httpx.TimeoutException:
            return _attempt(started, None, "timeout", unreachable=True)
        except (httpx.RemoteProtocolError, httpx.DecodingError):
            return _attempt(started, None, "invalid_response")
        except httpx.TransportError:  # refused, reset, TLS failure, unresolvable name, …
            return _attempt(started, None, "connection_failed", unreachable=True)
        finally:
            self._backend.deadline = float("inf")
        if 200 <= status < 300:
            return _attempt(started, status)
        if 300 <= status < 400:
            return _attempt(started, status, "redirect_not_followed")
        return _attempt(started, status, "gone" if status == 410 else "http_error")

    def _post(self, url: str, body: str, headers: dict) -> int:
        with self._client.stream("POST", url, content=body.encode(), headers=headers) as response:
            read = 0
            for chunk in response.iter_raw():
                read += len(chunk)
                if read >= MAX_RESPONSE_BYTES:
                    break
            return response.status_code


def _attempt(started: float, status: int | None, error: str = "", unreachable=False) -> Attempt:
    duration_ms = round((time.monotonic() - started) * 1000)
    return Attempt(not error, status, error, duration_ms, unreachable)
