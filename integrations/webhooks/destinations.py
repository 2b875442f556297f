"""Which URLs may receive webhooks.

HTTPS only (plain HTTP too when ``DEBUG`` is on), and the host must resolve
to public addresses only: a URL that resolves to a private, loopback,
link-local, reserved or multicast address is refused, so a subscription can
never make SPM's workers call into the network they run in. The check runs
when a subscription is saved and again before every attempt (a name may
resolve elsewhere later).

``WEBHOOK_ALLOW_LOOPBACK`` (a setting, on in the test settings only, never
read from the environment) admits loopback addresses, over HTTP or HTTPS, so
the tests can run a real receiver on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _not_public(address: Address) -> str:
    """Why ``address`` may not receive webhooks ('' when it may)."""
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private or address.is_reserved or address.is_unspecified:
        return "a private address"
    return ""


def _addresses(host: str, port: int) -> list[Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationError({"url": f"{host} does not resolve to an address."}) from exc
    return sorted({ipaddress.ip_address(info[4][0]) for info in infos}, key=str)


def destination_check(url: str) -> None:
    """Raise ``ValidationError`` on ``url`` naming why it may not receive webhooks."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise ValidationError({"url": "Enter a full URL starting with https://."})
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ValidationError({"url": "The port of this URL is not a number."}) from exc
    if parts.scheme != "https" and not (settings.DEBUG or settings.WEBHOOK_ALLOW_LOOPBACK):
        raise ValidationError({"url": "Webhook URLs must use HTTPS (https://...)."})
    addresses = _addresses(host, port)
    loopback_allowed = settings.WEBHOOK_ALLOW_LOOPBACK and all(a.is_loopback for a in addresses)
    if parts.scheme != "https" and not (settings.DEBUG or loopback_allowed):
        raise ValidationError({"url": "Webhook URLs must use HTTPS (https://...)."})
    for address in addresses:
        reason = _not_public(address)
        if reason and not (loopback_allowed and address.is_loopback):
            raise ValidationError(
                {
                    "url": f"{host} resolves to {address}, {reason}: webhooks are only "
                    "delivered to public addresses."
                }
            )
