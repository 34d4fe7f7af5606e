"""Which network the MPI job's traffic uses: the configured interface name when every host has
it, otherwise the subnet the master reaches its workers on (names differ between hosts more
often than subnets do)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable


def has_interface(name: str) -> bool:
    return any(interface == name for _, interface in socket.if_nameindex())


def subnet_of(address: str) -> str | None:
    """The CIDR of the local network that `address` (one of this host's) belongs to."""
    import psutil

    for addresses in psutil.net_if_addrs().values():
        for entry in addresses:
            if entry.family == socket.AF_INET and entry.address == address and entry.netmask:
                return str(ipaddress.ip_interface(f"{address}/{entry.netmask}").network)
    return None


def choose_interface(
    configured: str, master_has_it: bool, workers: Iterable[tuple[str, bool]], master_address: str
) -> tuple[str, str]:
    """`(value for *_tcp_if_include, why)`; `workers` are (their configured name, present there)."""
    workers = list(workers)
    names = {configured, *(name for name, _ in workers)}
    if master_has_it and len(names) == 1 and all(present for _, present in workers):
        return configured, f"interface {configured} on every host"
    subnet = subnet_of(master_address)
    if subnet is None:
        return configured, f"interface {configured} (its subnet could not be found)"
    return subnet, f"subnet {subnet}, because the interface names differ or are missing on some host"
