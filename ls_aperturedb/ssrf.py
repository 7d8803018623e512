"""SSRF protection for ApertureDB hosts.

Label Studio's own check (``core.utils.io.validate_ip``) refuses loopback and private addresses. On-prem
ApertureDB normally lives on exactly such an address, so ``LS_APERTUREDB_ALLOWED_HOSTS`` (names, IPs or
CIDRs) lets ApertureDB storages reach the listed hosts. Every other storage keeps the full protection.
"""
import ipaddress
import socket

from django.conf import settings

from ls_aperturedb import conf
from ls_aperturedb.connection import ConnectionProblem


def _allowed(host, ips):
    for entry in conf.get_list("ALLOWED_HOSTS"):
        if entry == "*" or entry.lower() == host.lower():
            return True
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        if ips and all(ipaddress.ip_address(ip) in network for ip in ips):
            return True
    return False


def check_host_allowed(host, port):
    if not host or not settings.SSRF_PROTECTION_ENABLED:
        return
    from core.utils.exceptions import SsrfBlockedUrlError
    from core.utils.io import validate_ip

    try:
        ips = sorted({info[4][0] for info in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)})
    except socket.gaierror:
        raise ConnectionProblem("hostname", f"cannot resolve hostname {host!r}") from None
    if _allowed(host, ips):
        return
    try:
        for ip in ips:
            validate_ip(ip)
    except SsrfBlockedUrlError:
        raise ConnectionProblem(
            "hostname",
            f"{host} resolves to a private or loopback address ({', '.join(ips)}), which SSRF protection "
            f"blocks; an administrator can allow it with LS_APERTUREDB_ALLOWED_HOSTS={host}",
        ) from None
