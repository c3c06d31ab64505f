"""Where fetched URLs may connect: no internal addresses for URLs from fetched content.

A competitor's page decides which image URLs, next-page links and redirects watcher
follows, so those must never reach the machine watcher runs on or its network: loopback,
private (RFC 1918, IPv6 ULA), shared/CGNAT (100.64/10), link-local (169.254.169.254, the
cloud metadata service), multicast, unspecified or reserved addresses, however they are
spelled (``127.1``, ``2130706433``, ``0x7f000001``, ``[::ffff:127.0.0.1]``, a name that
resolves there, a 302 to one).

The check runs where the connection is made: :class:`GuardedBackend` resolves the host
itself, checks every address and connects to the address it checked, so a DNS answer that
changes between a check and the connect (rebinding) cannot slip through. Origins the user
configured are trusted and skip the check (the shops may well live on a private network);
``allow_private = true`` on a shop relaxes the check for that shop's content URLs to allow
loopback and private networks, never link-local, multicast or unspecified addresses.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import anyio
import httpcore

from watcher.errors import BlockedError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_V4_COMPAT = ipaddress.ip_network("::/96")


class AddressBlockedError(BlockedError):
    """A URL from fetched content leads to an address watcher must not connect to."""


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, 6to4, NAT64,
    Teredo client), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or (ip in _V4_COMPAT and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(ip: IPAddress, *, allow_private: bool = False) -> str | None:
    """Why a fetched-content URL may not connect to ``ip`` (None when it may)."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_v4(ip)
        if inner is not None:
            problem = address_problem(inner, allow_private=allow_private)
            return f"{problem} (as {ip})" if problem else None
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_loopback:
        return None if allow_private else "a loopback address"
    private = ip.is_private or ip in _CGNAT
    if private and allow_private and not ip.is_reserved:
        return None
    if ip in _CGNAT:
        return "a shared (CGNAT) address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "not a public address"
    return None


def check_addresses(host: str, addresses: Iterable[str], *, allow_private: bool) -> list[str]:
    """``addresses`` (of ``host``) without duplicates; AddressBlockedError when any of them
    is forbidden (a name that resolves to a public and a private address is refused)."""
    out: list[str] = []
    for text in addresses:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
        problem = address_problem(ip, allow_private=allow_private)
        if problem:
            shown = host if host == str(ip) else f"{host} ({ip})"
            raise AddressBlockedError(f"refusing to connect to {shown}: {problem}")
        if text not in out:
            out.append(text)
    return out


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves, checks and connects to the checked
    address (see the module doc). Unix sockets are refused."""

    def __init__(
        self, *, allow_private: bool = False, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.allow_private = allow_private
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve ``host``, refuse forbidden addresses, connect to a checked one."""
        try:
            with anyio.fail_after(timeout):
                infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except (OSError, UnicodeError) as e:
            raise httpcore.ConnectError(f"cannot resolve {host}: {e}") from None
        addresses = check_addresses(
            host, (str(info[4][0]) for info in infos), allow_private=self.allow_private
        )
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                last = e
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never: fetched content does not get a local socket."""
        raise AddressBlockedError(f"refusing to connect to the unix socket {path}")

    async def sleep(self, seconds: float) -> None:
        """As the inner backend."""
        await self._inner.sleep(seconds)
