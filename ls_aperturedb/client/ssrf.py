"""SSRF protection for ApertureDB hosts.

Label Studio's own check (``core.utils.io.validate_ip``) refuses loopback and private addresses. On-prem
ApertureDB normally lives on exactly such an address, so ``LS_APERTUREDB_ALLOWED_HOSTS`` (names, IPs or
CIDRs) lets ApertureDB storages reach the listed hosts. Every other storage keeps the full protection.

The policy applies to every connection the plugin opens (the pools call :func:`ensure_allowed` each
time they hand out a connection), not only to "Test connection". A decision is reused for
``DECISION_SECONDS`` per host, port and policy: a changed ``LS_APERTUREDB_ALLOWED_HOSTS`` (or
``SSRF_PROTECTION_ENABLED``) applies to the next call, a host re-pointed in DNS within seconds.
(The SDK resolves the name again when it connects, so a DNS answer that changes in between is only
caught by the next check: the limit of a policy applied outside the SDK.)
"""
import ipaddress
import socket
import threading
import time

from django.conf import settings

from ls_aperturedb import conf
from ls_aperturedb.client.connection import ConnectionProblem


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


DECISION_SECONDS = 5
_decisions = {}  # (host, port, policy) -> (valid until (monotonic), refusal message or "")
_decisions_lock = threading.Lock()


def ensure_allowed(host, port):
    """:func:`check_host_allowed` for a connection about to be used, the decision cached briefly."""
    key = (host.lower(), port, tuple(conf.get_list("ALLOWED_HOSTS")), bool(settings.SSRF_PROTECTION_ENABLED))
    now = time.monotonic()
    decision = _decisions.get(key)
    if decision is None or decision[0] <= now:
        try:
            check_host_allowed(host, port)
            refusal = ""
        except ConnectionProblem as problem:
            refusal = problem.message
        decision = (now + DECISION_SECONDS, refusal)
        with _decisions_lock:
            if len(_decisions) > 1000:  # hosts of deleted storages, old policies
                _decisions.clear()
            _decisions[key] = decision
    if decision[1]:
        raise ConnectionProblem("hostname", decision[1])
