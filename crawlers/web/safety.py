"""Which URLs a crawl may request: http(s) only, and no private addresses unless allowed.

Private, loopback, link-local, multicast and reserved addresses are refused by default so a
crawled page (or a redirect) cannot point the crawler at the service's own network.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from functools import lru_cache
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1024)
def _addresses(host: str) -> tuple[str, ...]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return ()
    return tuple(sorted({str(info[4][0]) for info in infos}))


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def refusal(url: str, *, allow_private: bool) -> str | None:
    """Why ``url`` must not be requested, or None when it may be."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"only http and https URLs are crawled, not {parts.scheme or 'no scheme'!r}"
    host = parts.hostname
    if not host:
        return "the URL has no host"
    if allow_private:
        return None
    addresses = _addresses(host)
    if not addresses:
        return None  # unresolvable: the download fails with a DNS error of its own
    for address in addresses:
        if not _is_public(address):
            return (
                f"{host} resolves to the non-public address {address}; set "
                "allow_private_addresses = true on the source to crawl it"
            )
    return None
