"""free_ports hands out distinct ports: the demo's MPC parties, oracle daemons and Kubo nodes each need their own."""

from __future__ import annotations

import socket

from creditshare.core.localchain import free_port, free_ports


def test_ports_asked_together_are_distinct_and_bindable():
    ports = free_ports(64)
    assert len(set(ports)) == 64
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_excluded_ports_are_never_returned():
    first = free_ports(8)
    again = free_ports(8, exclude=first)
    assert not set(first) & set(again)
    assert free_port() > 0
