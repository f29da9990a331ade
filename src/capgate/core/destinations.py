"""Where a host name or address points, as far as sending it a secret goes: this machine, or a link-local or
cloud-metadata address that hands out the machine's own credentials to whoever asks."""

from __future__ import annotations

import ipaddress
import socket

# Instance metadata services: link-local ones and those that are not (Alibaba's, Azure's WireServer), and the
# names that reach them.
METADATA_HOSTS = frozenset(
    {
        "169.254.169.254",  # AWS, GCP, Azure, Oracle, DigitalOcean, OpenStack
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure WireServer
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
    }
)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_loopback(host: str) -> bool:
    """Whether `host` (a --host value, a URL's host) is this machine only."""
    if host.lower() == "localhost":
        return True
    address = parse_address(host)
    return address is not None and address.is_loopback


def parse_address(host: str) -> Address | None:
    """`host` as an IP address, in any spelling the resolver would accept (`2852039166`, `0xa9.254.169.254`,
    `[::ffff:169.254.169.254]` mapped to its IPv4 address); None for a name."""
    text = host.strip("[]")
    try:
        address = ipaddress.ip_address(text.split("%")[0])  # without an IPv6 zone
    except ValueError:
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))  # the classic BSD spellings getaddrinfo takes
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def forbidden(host: str) -> str | None:
    """Why a secret must not be sent to `host` without the operator's leave, or None if it may be."""
    address = parse_address(host)
    if host.lower().rstrip(".") in METADATA_HOSTS or (address is not None and str(address) in METADATA_HOSTS):
        return "a cloud metadata service"
    if address is not None and address.is_link_local:
        return "a link-local address"
    return None
