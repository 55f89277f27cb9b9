"""Where webhooks may be sent: the URL rules of contract §9 and the address rule (SSRF).

The URL is checked when it is saved; the address again at each connection,
after DNS resolution (webhooks/sending.py), because a name can resolve
anywhere, and differently each time.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from flownally_admin.errors import ValidationFailed

from .models import URL_MAX_LENGTH

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def address_is_public(address: IPAddress) -> bool:
    """Whether a webhook may connect to `address`: not loopback, private, link-local,
    multicast, reserved or otherwise not globally routable (an IPv4 address written as
    IPv6 is judged as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_unspecified
    )


def address_allowed(address: IPAddress) -> bool:
    return settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS or address_is_public(address)


def literal_address(host: str) -> IPAddress | None:
    """The address a host name spells by itself, including the old IPv4 forms that
    resolvers accept (`2130706433`, `0x7f.1`, `127.1`); None for a DNS name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def webhook_url_validate(url: object, *, field: str = "url") -> str:
    """The URL, if webhooks may be sent to it; raises ValidationFailed on `field`."""

    def refuse(code: str, message: str) -> ValidationFailed:
        return ValidationFailed.single(field, code, message)

    if not isinstance(url, str) or not url.strip():
        raise refuse("required", "A URL is required.")
    url = url.strip()
    if len(url) > URL_MAX_LENGTH:
        raise refuse("too_long", f"A URL has at most {URL_MAX_LENGTH} characters.")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise refuse("invalid", "A URL cannot contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise refuse("invalid", "This is not a valid URL.") from None
    allowed_schemes = ("https", "http") if settings.WEBHOOKS_ALLOW_HTTP else ("https",)
    if parts.scheme not in allowed_schemes:
        raise refuse("invalid", "The URL must start with https://.")
    host = parts.hostname
    if not host:
        raise refuse("invalid", "The URL has no host.")
    if "@" in parts.netloc:
        raise refuse("invalid", "The URL cannot contain a user name or password.")
    if port == 0:
        raise refuse("invalid", "The URL's port must be 1–65535.")
    try:
        host.encode("idna")
    except UnicodeError:
        raise refuse("invalid", "The URL's host name is not valid.") from None
    address = literal_address(host)
    private_name = host == "localhost" or host.endswith(".localhost")
    if (address is not None and not address_allowed(address)) or (
        private_name and not settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS
    ):
        raise refuse(
            "invalid",
            "The URL points at a loopback, private, link-local, multicast or reserved address.",
        )
    return url
