from __future__ import annotations

import ipaddress

import pytest

from gateway.hooks.addresses import AllowList, public


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.1.1",
        "100.64.0.1",
        "100.127.255.254",
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",
        "64:ff9b::a9fe:a9fe",
        "2001:db8::1",
    ],
)
def test_refused(address: str) -> None:
    assert not public(ipaddress.ip_address(address))
    assert not AllowList.parse([]).permits("app.example.com", ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public(address: str) -> None:
    assert public(ipaddress.ip_address(address))


def test_allow_list_by_name_and_network() -> None:
    allow = AllowList.parse(["app.internal.", " 10.1.0.0/16 ", "", "[::1]", "127.0.0.1"])
    loopback = ipaddress.ip_address("127.0.0.1")
    assert allow.permits("APP.internal", ipaddress.ip_address("10.9.9.9"))
    assert allow.permits("other", ipaddress.ip_address("10.1.2.3"))
    assert not allow.permits("other", ipaddress.ip_address("10.2.0.1"))
    assert allow.permits("other", ipaddress.ip_address("::1"))
    assert allow.permits("other", loopback)
    assert allow.permits("other", ipaddress.ip_address("::ffff:127.0.0.1"))
    assert not allow.permits("other", ipaddress.ip_address("127.0.0.2"))


def test_bad_network_in_allow_list() -> None:
    with pytest.raises(ValueError):
        AllowList.parse(["10.0.0.0/99"])
