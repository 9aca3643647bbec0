"""SSRF-safe image downloader (no Django imports; policy comes in as a dataclass).

Every hop of a download goes through the same steps:

1. ``check_url`` validates scheme (http/https), port (80/443), userinfo and host, resolves the
   host once with ``socket.getaddrinfo`` and requires EVERY returned address to be globally
   routable (``is_public_address``).
2. The request is sent through ``PinnedAddressAdapter``, a requests ``HTTPAdapter`` that never
   resolves anything itself: it asks urllib3 for a connection pool whose *host is the checked IP
   literal*, so the socket goes exactly to the address that was checked (no second DNS lookup a
   rebinding attacker could answer differently). The original name is kept where it matters:
   the ``Host`` header carries it, and for https the pool gets ``server_hostname=<name>`` so TLS
   SNI and certificate hostname verification use the name, not the IP. Proxies are ignored on
   purpose (a proxy would do its own, unchecked, resolution).
3. Redirects are never followed by requests/urllib3; ``fetch`` reads ``Location`` and runs the
   whole check again for the next hop (at most ``max_redirects`` hops).
4. The body is streamed with ``read1`` (returns after at most one socket read), so the byte cap
   and the wall-clock deadline are checked after every chunk; before each read the socket
   timeout is shrunk to what is left of the deadline, so a server trickling one byte per second
   cannot hold the download open past ``total_timeout``.

The caller still has to validate the bytes (Pillow) - a ``Content-Type: image/*`` header proves
nothing about the payload.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
import urllib3.connection
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.certs import where as default_ca_bundle

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_ALLOWED_SCHEMES = ("http", "https")
_ALLOWED_PORTS = (80, 443)
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_PIN_ATTR = "_aimaker_pin"

# Hosts made only of digits / hex groups are numeric IPv4 forms ("2130706433", "0x7f.1",
# "127.1", "017700000001"). Only the canonical dotted quad is accepted; the rest are refused
# outright instead of trusting every resolver to parse them the same way.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?$", re.IGNORECASE)


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int = 20 * 1024 * 1024
    connect_timeout: float = 5.0
    read_timeout: float = 10.0  # per socket read
    total_timeout: float = 30.0  # whole download wall clock (slow-body / slowloris defence)
    max_redirects: int = 3
    # TEST ONLY: allows loopback addresses (127.0.0.0/8, ::1) on any port so tests can reach
    # pytest-httpserver. Every other blocked range stays blocked. Production must leave it off.
    allow_loopback: bool = False
    user_agent: str = "AIMaker/1.0 (+self-hosted image classifier maker)"
    # CA bundle for https; None = certifi's bundle (what requests uses). Tests/ops may override.
    ca_bundle: str | None = None


@dataclass(frozen=True)
class FetchResult:
    url: str  # what the caller asked for
    final_url: str  # after redirects
    content_type: str  # media type only, lowercased, e.g. "image/jpeg"
    data: bytes


class FetchRejected(Exception):
    """The URL or the response was refused; ``reason`` is short and safe to show to users."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- address classification --------------------------------------------------------------

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# Explicit tables on top of ``is_global``: labels make rejections understandable and the
# result does not depend on which Python patch release fixed which ``is_global`` corner case.
_BLOCKED_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/32"), "unspecified"),
    (_V4("0.0.0.0/8"), "this-network"),
    (_V4("10.0.0.0/8"), "private"),
    (_V4("100.64.0.0/10"), "shared address space / CGNAT"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link-local"),
    (_V4("172.16.0.0/12"), "private"),
    (_V4("192.0.0.0/24"), "IETF protocol assignments"),
    (_V4("192.0.2.0/24"), "documentation"),
    (_V4("192.88.99.0/24"), "6to4 relay anycast"),
    (_V4("192.168.0.0/16"), "private"),
    (_V4("198.18.0.0/15"), "benchmarking"),
    (_V4("198.51.100.0/24"), "documentation"),
    (_V4("203.0.113.0/24"), "documentation"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("255.255.255.255/32"), "broadcast"),
    (_V4("240.0.0.0/4"), "reserved"),
)

_BLOCKED_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    (_V6("::/96"), "IPv4-compatible (deprecated)"),
    (_V6("64:ff9b:1::/48"), "NAT64 local-use"),
    (_V6("100::/64"), "discard-only"),
    (_V6("2001::/32"), "Teredo"),
    (_V6("2001:db8::/32"), "documentation"),
    (_V6("2001::/23"), "IETF protocol assignments"),
    (_V6("3fff::/20"), "documentation"),
    (_V6("5f00::/16"), "SRv6 SIDs"),
    (_V6("fc00::/7"), "unique local / private"),
    (_V6("fe80::/10"), "link-local"),
    (_V6("fec0::/10"), "site-local (deprecated)"),
    (_V6("ff00::/8"), "multicast"),
)

_GLOBAL_UNICAST_V6 = _V6("2000::/3")
_NAT64_WELL_KNOWN = _V6("64:ff9b::/96")
_IPV4_TRANSLATED = _V6("::ffff:0:0:0/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """IPv6 forms that really reach an IPv4 host: check that host instead."""
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip in _IPV4_TRANSLATED:
        return "IPv4-translated", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _NAT64_WELL_KNOWN:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    return None


def block_reason(ip: IPAddress | str) -> str | None:
    """Why ``ip`` must not be contacted, or None when it is a public unicast address."""
    if isinstance(ip, str):
        ip = ipaddress.ip_address(ip)
    if isinstance(ip, ipaddress.IPv4Address):
        for network, label in _BLOCKED_V4:
            if ip in network:
                return label
        return None if ip.is_global else "not globally routable"

    if ip.scope_id:  # zone-scoped addresses are link-local by nature
        return "scoped address"
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        kind, v4 = embedded
        inner = block_reason(v4)
        return f"{inner} via {kind}" if inner else None
    for network, label in _BLOCKED_V6:
        if ip in network:
            return label
    if ip not in _GLOBAL_UNICAST_V6:
        return "reserved"
    return None if ip.is_global else "not globally routable"


def is_public_address(ip: IPAddress | str) -> bool:
    return block_reason(ip) is None


def _is_loopback(ip: IPAddress) -> bool:
    return isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address) and (
        ip.is_loopback and not (isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped)
    )


# --- URL checking ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    scheme: str
    hostname: str  # as in the URL, lowercased, no brackets
    port: int
    host_header: str


def _parse(url: str) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchRejected(f"invalid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _ALLOWED_SCHEMES:
        raise FetchRejected(f"scheme not allowed: {scheme or '(none)'}")
    if parts.username is not None or parts.password is not None:
        raise FetchRejected("credentials in URL not allowed")
    hostname = (parts.hostname or "").rstrip(".")
    if not hostname:
        raise FetchRejected("URL has no host")
    if any(c.isspace() or ord(c) < 33 for c in hostname):
        raise FetchRejected("invalid host")
    default_port = 443 if scheme == "https" else 80
    effective_port = port if port is not None else default_port
    bracketed = f"[{hostname}]" if ":" in hostname else hostname
    host_header = bracketed if port is None or port == default_port else f"{bracketed}:{port}"
    return _Target(scheme, hostname, effective_port, host_header)


def _literal_ip(hostname: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(hostname)
    except ValueError:
        return None


def _resolve(hostname: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchRejected(f"cannot resolve host {hostname}: {exc}") from None
    addresses: list[IPAddress] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(str(sockaddr[0]))
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchRejected(f"cannot resolve host {hostname}")
    return addresses


def _normalize(url: str) -> str:
    # requests' own URL preparation (IDNA-encodes the host, quotes the path) so the name we
    # check, resolve and send in Host/SNI is exactly the one on the wire.
    try:
        return requests.Request("GET", url.strip()).prepare().url or ""
    except (requests.exceptions.RequestException, ValueError, UnicodeError) as exc:
        raise FetchRejected(f"invalid URL: {exc}") from None


def _check(url: str, policy: FetchPolicy) -> tuple[str, _Target, list[IPAddress]]:
    url = _normalize(url)
    target = _parse(url)
    nonstandard_port = target.port not in _ALLOWED_PORTS
    # Without the test escape hatch a bad port is refused before any DNS traffic.
    if nonstandard_port and not policy.allow_loopback:
        raise FetchRejected(f"port not allowed: {target.port}")
    if _NUMERIC_HOST.match(target.hostname) and _literal_ip(target.hostname) is None:
        raise FetchRejected(f"non-canonical numeric host: {target.hostname}")

    addresses = _resolve(target.hostname, target.port)
    for address in addresses:
        if policy.allow_loopback and _is_loopback(address):
            continue
        reason = block_reason(address)
        if reason is not None:
            raise FetchRejected(f"blocked address {address} ({reason})")
    if nonstandard_port and not all(_is_loopback(a) for a in addresses):
        raise FetchRejected(f"port not allowed: {target.port}")
    return url, target, addresses


def check_url(url: str, policy: FetchPolicy) -> list[tuple[str, IPAddress]]:
    """Validate ``url`` and resolve its host once.

    Returns ``[(hostname, address), ...]`` - every address the host resolved to, all checked.
    Raises ``FetchRejected`` if anything is off (one bad address taints the whole host, so a
    resolver cannot mix a public and a private answer).
    """
    _url, target, addresses = _check(url, policy)
    return [(target.hostname, address) for address in addresses]


# --- pinned connections ------------------------------------------------------------------


@dataclass(frozen=True)
class _Pin:
    scheme: str
    hostname: str
    address: str
    port: int
    ca_bundle: str


class _SocketTracking:
    """Remembers the connected socket: http.client drops ``conn.sock`` when the response will
    close the connection, but fetch() still needs it to shrink the timeout to the deadline."""

    sock: socket.socket | None
    last_socket: socket.socket | None = None

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self.last_socket = self.sock


class _HTTPConnection(_SocketTracking, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_SocketTracking, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class PinnedAddressAdapter(HTTPAdapter):
    """An HTTPAdapter that only connects to the IP address fetch() pinned on the request.

    The pool is keyed by (scheme, IP, port, server_hostname, CA bundle), so connection reuse
    never crosses from one checked address/name pair to another.
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def get_connection_with_tls_context(
        self,
        request: requests.PreparedRequest,
        verify: bool | str | None,
        proxies: dict[str, str] | None = None,
        cert: Any = None,
    ) -> urllib3.HTTPConnectionPool:
        pin: _Pin | None = getattr(request, _PIN_ATTR, None)
        if pin is None:
            # Fail closed: this adapter must never resolve a name itself.
            raise FetchRejected("refusing a connection to an unchecked address")
        pool_kwargs: dict[str, Any] = {}
        if pin.scheme == "https":
            pool_kwargs = {
                "cert_reqs": "CERT_REQUIRED",
                "ca_certs": pin.ca_bundle,
                # SNI + certificate hostname check against the name, not the IP we dial.
                "server_hostname": pin.hostname,
            }
        return self.poolmanager.connection_from_host(
            host=pin.address, port=pin.port, scheme=pin.scheme, pool_kwargs=pool_kwargs
        )

    def get_connection(self, url: str, proxies: dict[str, str] | None = None) -> Any:
        raise FetchRejected("refusing a connection to an unchecked address")

    def request_url(self, request: requests.PreparedRequest, proxies: Any) -> str:
        return request.path_url  # never the absolute-form a proxy would get


def _adapter_for(session: requests.Session | None) -> tuple[PinnedAddressAdapter, bool]:
    if session is None:
        return PinnedAddressAdapter(), True
    adapter = session.get_adapter("https://")
    if not isinstance(adapter, PinnedAddressAdapter):
        # Reuse across calls for connection pooling; fetch() never uses the session's own
        # send(), so its proxies/auth/cookies/redirect handling cannot interfere.
        adapter = PinnedAddressAdapter()
        session.mount("https://", adapter)
        session.mount("http://", adapter)
    return adapter, False


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchRejected("timed out")
    return left


def _open(
    adapter: PinnedAddressAdapter,
    url: str,
    target: _Target,
    addresses: list[IPAddress],
    policy: FetchPolicy,
    deadline: float,
) -> requests.Response:
    ca_bundle = policy.ca_bundle or default_ca_bundle()
    last_error: Exception | None = None
    # Try the checked addresses in order (e.g. ::1 then 127.0.0.1); all of them passed the check.
    for address in addresses:
        left = _remaining(deadline)
        request = requests.Request(
            "GET",
            url,
            headers={
                "User-Agent": policy.user_agent,
                "Accept": "image/*",
                # Compressed bodies would make the byte cap count the wrong thing.
                "Accept-Encoding": "identity",
            },
        ).prepare()
        request.headers["Host"] = target.host_header
        setattr(
            request,
            _PIN_ATTR,
            _Pin(target.scheme, target.hostname, str(address), target.port, ca_bundle),
        )
        timeout = (min(policy.connect_timeout, left), min(policy.read_timeout, left))
        try:
            return adapter.send(request, stream=True, timeout=timeout, verify=ca_bundle)
        except requests.exceptions.SSLError as exc:
            raise FetchRejected(f"TLS error: {exc}") from None
        except requests.exceptions.ConnectionError as exc:  # incl. ConnectTimeout
            last_error = exc
        except requests.exceptions.Timeout:
            raise FetchRejected("timed out") from None
        except requests.exceptions.RequestException as exc:
            raise FetchRejected(f"request failed: {exc}") from None
    if isinstance(last_error, requests.exceptions.ConnectTimeout):
        raise FetchRejected("timed out")
    raise FetchRejected(f"connection failed: {last_error}")


def _read_body(response: requests.Response, policy: FetchPolicy, deadline: float) -> bytes:
    raw = response.raw
    sock = getattr(getattr(raw, "connection", None), "last_socket", None)
    data = bytearray()
    while True:
        left = _remaining(deadline)
        if sock is not None:
            try:
                sock.settimeout(min(policy.read_timeout, left))
            except OSError:  # already closed by http.client at the end of the body
                sock = None
        try:
            chunk = raw.read1(_CHUNK, decode_content=False)
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
            raise FetchRejected("timed out") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise FetchRejected(f"connection failed: {exc}") from None
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > policy.max_bytes:
            raise FetchRejected("response too large")


def _media_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


def fetch(url: str, *, policy: FetchPolicy, session: requests.Session | None = None) -> FetchResult:
    """Download one image URL under ``policy``; raises ``FetchRejected`` on any refusal.

    ``session`` is optional and only serves connection pooling across calls: fetch() mounts a
    ``PinnedAddressAdapter`` on it if needed and otherwise ignores its settings.
    """
    deadline = time.monotonic() + policy.total_timeout
    adapter, owned = _adapter_for(session)
    current = url
    try:
        for _hop in range(policy.max_redirects + 1):
            current, target, addresses = _check(current, policy)
            response = _open(adapter, current, target, addresses, policy, deadline)
            try:
                status = response.status_code
                if status in _REDIRECT_STATUSES:
                    location = response.headers.get("Location")
                    if not location:
                        raise FetchRejected(f"HTTP {status} without Location")
                    # Body of the redirect is never read: close() drops the connection.
                    current = urljoin(current, location.strip())
                    continue
                if status != 200:
                    raise FetchRejected(f"HTTP {status}")
                media_type = _media_type(response)
                if not media_type.startswith("image/"):
                    raise FetchRejected(f"not an image ({media_type or 'no content type'})")
                if media_type == "image/svg+xml":  # XML with scripts, not a raster image
                    raise FetchRejected(f"not a raster image ({media_type})")
                encoding = response.headers.get("Content-Encoding", "").strip().lower()
                if encoding not in ("", "identity"):
                    raise FetchRejected(f"content encoding not allowed: {encoding}")
                length = response.headers.get("Content-Length", "").strip()
                if length.isdigit() and int(length) > policy.max_bytes:
                    raise FetchRejected("response too large")
                data = _read_body(response, policy, deadline)
                return FetchResult(url=url, final_url=current, content_type=media_type, data=data)
            finally:
                response.close()
        raise FetchRejected("too many redirects")
    finally:
        if owned:
            adapter.close()
