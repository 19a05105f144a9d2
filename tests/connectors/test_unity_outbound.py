"""Finding 1 of the hardening issue: the Unity service credentials go only to allowed hosts,
and nothing a remote server says is copied into a message a tenant reads.

The attack: a group's ``allscripts.unity.url`` pointed at a server of the attacker's; the
next sync posted ``FRONTDESK_UNITY__SERVICE_*`` to it and copied its reply into the run's
error message. Here the "attacker" is a loopback server that records what reaches it.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from tests.connectors.conftest import (
    FAST_RETRY,
    SERVICE_USER,
    group_properties,
    unity_settings,
)
from tests.connectors.http_peer import Serve, answer, echo, ok, post

from frontdesk.connectors.allscripts.connector import UnityConnector
from frontdesk.connectors.base import CheckStatus
from frontdesk.connectors.errors import CredentialsRejected, RemoteRejected
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.outbound.transport import PooledTransport
from frontdesk.sandbox.unity import DEFAULT_SERVICE_PASSWORD
from frontdesk.security.outbound import DestinationRefused, HostRule, OutboundPolicy
from frontdesk.settings import OutboundSettings, Settings

HOSTILE = "<img src=x onerror=alert(1)> Jane Doe 555-867-5309 jane@example.org"


def resolver(table: dict[str, list[str]]) -> Callable[[str, int], Awaitable[list[str]]]:
    """A resolver answering from ``table`` (no DNS in tests)."""

    async def resolve(host: str, _port: int) -> list[str]:
        if host not in table:
            raise OSError("unknown host")
        return table[host]

    return resolve


def settings_with(allowed: str = "", **unity: Any) -> Settings:
    settings = unity_settings(**unity)
    settings.outbound = OutboundSettings(allowed_hosts=allowed)
    return settings


def connector_for(url: str, settings: Settings, **kwargs: Any) -> UnityConnector:
    return UnityConnector.from_properties(
        group_properties(**{"allscripts.unity.url": url}),
        settings,
        limits=ConcurrencyLimits(total=4, per_group=2),
        retry=FAST_RETRY,
        rng=random.Random(1),
        **kwargs,
    )


# -- the policy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "url", "credentials", "ok_"),
    [
        pytest.param("", "http://unity.test/UnityService.svc/json", True, True, id="operator"),
        pytest.param("", "https://evil.example/UnityService.svc/json", True, False, id="unlisted"),
        pytest.param("", "https://8.8.8.8/x", False, True, id="public-ip-no-credentials"),
        pytest.param("", "http://127.0.0.1:9/x", False, False, id="loopback"),
        pytest.param("", "http://[::1]/x", False, False, id="loopback-v6"),
        pytest.param("", "http://[::ffff:127.0.0.1]/x", False, False, id="v4-mapped"),
        pytest.param("", "http://169.254.169.254/latest", False, False, id="link-local"),
        pytest.param("", "http://10.1.2.3/x", False, False, id="private"),
        pytest.param("", "http://100.64.0.1/x", False, False, id="shared"),
        pytest.param("", "http://224.0.0.1/x", False, False, id="multicast"),
        pytest.param("10.1.2.3", "http://10.1.2.3/x", True, True, id="listed-private"),
        pytest.param("*.ehr.example", "https://a.ehr.example/x", True, True, id="wildcard"),
        pytest.param("*.ehr.example", "https://ehr.example/x", True, False, id="wildcard-apex"),
        pytest.param("pm.example:8443", "https://pm.example:8443/x", True, True, id="port"),
        pytest.param("pm.example:8443", "https://pm.example/x", True, False, id="other-port"),
        pytest.param("PM.Example.", "https://pm.example/x", True, True, id="case-and-dot"),
        pytest.param("", "ftp://unity.test/x", False, False, id="scheme"),
        pytest.param("", "http://unity.test:99999/x", False, False, id="bad-port"),
    ],
)
def test_check_url(allowed: str, url: str, credentials: bool, ok_: bool) -> None:
    policy = OutboundPolicy.from_settings(settings_with(allowed))
    if ok_:
        policy.check_url(url, sends_credentials=credentials)
        return
    with pytest.raises(DestinationRefused) as caught:
        policy.check_url(url, sends_credentials=credentials)
    assert url not in caught.value.message
    assert "FRONTDESK_OUTBOUND__ALLOWED_HOSTS" in caught.value.message or "URL" in str(caught.value)


@pytest.mark.parametrize("entry", ["a:b:c:d/x", "host:0", "host:port", "*.", "*.*.x", "a/b"])
def test_malformed_allowed_hosts_are_refused_at_start_up(entry: str) -> None:
    with pytest.raises(ValueError, match="ALLOWED_HOSTS"):
        Settings(outbound=OutboundSettings(allowed_hosts=entry))


def test_allowed_host_entries() -> None:
    rules = [HostRule.parse(e) for e in ("Host.Example:81", "*.sub.example", "[::1]:8080")]
    assert rules[0] == HostRule("host.example", 81)
    assert rules[1].matches("a.b.sub.example", 443)
    assert not rules[1].matches("sub.example", 443)
    assert rules[2] == HostRule("::1", 8080)


async def test_connect_time_check_uses_the_resolved_address() -> None:
    """A name that resolves to loopback is refused unless listed; a listed one may."""
    table = {"rebind.example": ["127.0.0.1"], "public.example": ["93.184.215.14"]}
    policy = OutboundPolicy.from_settings(settings_with(), resolve=resolver(table))
    policy.check_url("https://rebind.example/hook")  # a name: nothing to decide without DNS
    with pytest.raises(DestinationRefused):
        await policy.check_configured("https://rebind.example/hook")
    with pytest.raises(DestinationRefused):
        await policy.check_connect("rebind.example", 443)
    assert await policy.check_connect("public.example", 443) == ["93.184.215.14"]
    with pytest.raises(DestinationRefused):  # public, but credentials need a listed host
        await policy.check_connect("public.example", 443, sends_credentials=True)
    listed = OutboundPolicy.from_settings(settings_with("rebind.example"), resolve=resolver(table))
    assert await listed.check_connect("rebind.example", 443, sends_credentials=True) == [
        "127.0.0.1"
    ]


async def test_transport_connects_only_to_addresses_the_policy_verified(serve: Serve) -> None:
    """The connect step asks the policy: refused → no connection at all; allowed → the
    transport connects to the verified address (the name itself resolves nowhere)."""
    server = await serve(echo)
    table = {"rebind.example": ["127.0.0.1"]}
    url = f"http://rebind.example:{server.port}/x"
    refusing = OutboundPolicy.from_settings(settings_with(), resolve=resolver(table))
    transport = PooledTransport(
        ssl_context=ssl.create_default_context(),
        max_connections=2,
        connect_check=refusing.check_connect,
    )
    with pytest.raises(DestinationRefused):
        await post(transport, url, b"secret")
    await transport.aclose()
    assert server.connections == 0

    allowing = OutboundPolicy.from_settings(
        settings_with(f"rebind.example:{server.port}"), resolve=resolver(table)
    )
    transport = PooledTransport(
        ssl_context=ssl.create_default_context(),
        max_connections=2,
        connect_check=allowing.check_connect,
    )
    assert await post(transport, url, b"hello") == b"hello"
    await transport.aclose()
    assert server.connections == 1


# -- the attack -------------------------------------------------------------------------


async def test_service_credentials_never_reach_an_unlisted_host(serve: Serve) -> None:
    """The reproduction: a group URL on a server of the attacker's (here on loopback)."""
    attacker = await serve(answer(ok(b'"error: ' + HOSTILE.encode() + b'"')))
    url = f"http://127.0.0.1:{attacker.port}/UnityService.svc/json"
    with pytest.raises(DestinationRefused) as caught:
        connector_for(url, settings_with())
    assert caught.value.field == "allscripts.unity.url"
    assert str(attacker.port) not in caught.value.message

    # Listed in the past, removed since: refused again before anything is sent.
    policy = OutboundPolicy.from_settings(settings_with(f"127.0.0.1:{attacker.port}"))
    connector = connector_for(url, settings_with(f"127.0.0.1:{attacker.port}"), outbound=policy)
    await connector.aclose()
    with pytest.raises(DestinationRefused):
        connector_for(url, settings_with())
    await asyncio.sleep(0)
    assert attacker.connections == 0
    assert not any(DEFAULT_SERVICE_PASSWORD.encode() in body for body in attacker.bodies)


async def test_a_listed_host_never_gets_its_reply_copied_into_messages(serve: Serve) -> None:
    """Even an allowed server's reply text stays out of errors and "Test connection"."""
    peer = await serve(answer(ok(json.dumps("error: " + HOSTILE).encode())))
    url = f"http://127.0.0.1:{peer.port}/UnityService.svc/json"
    connector = connector_for(url, settings_with(f"127.0.0.1:{peer.port}"))
    try:
        with pytest.raises(CredentialsRejected) as caught:
            await connector.client.login()
        result = await connector.check()
    finally:
        await connector.aclose()
    assert peer.requests >= 1
    for text in (caught.value.message, str(caught.value), result.message):
        for fragment in ("img", "Jane", "555", "example.org", "alert"):
            assert fragment not in text


async def test_magic_error_text_is_not_copied(serve: Serve) -> None:
    token = b'"2f0b9f4e-3f1c-4f6e-9a57-1d3a4c5b6e7f"'
    magic_error = json.dumps([{"Error": HOSTILE}]).encode()

    async def reply(body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(ok(token if b"Username" in body else magic_error))
        await writer.drain()
        return True

    peer = await serve(reply)
    url = f"http://127.0.0.1:{peer.port}/UnityService.svc/json"
    connector = connector_for(url, settings_with(f"127.0.0.1:{peer.port}"))
    try:
        with pytest.raises(RemoteRejected) as caught:
            await connector.client.login()
        result = await connector.check()
    finally:
        await connector.aclose()
    assert result.status is not CheckStatus.OK
    for text in (caught.value.message, result.message):
        assert "img" not in text
        assert "Jane" not in text
    assert SERVICE_USER not in caught.value.message


async def test_the_twilio_token_reaches_only_the_operators_twilio_origin() -> None:
    """FRONTDESK_TWILIO__API_URL is an operator origin (allowed, even on a private address, as
    the Unity URL is); the auth token goes to no other unlisted host."""
    table = {"twilio.internal": ["10.0.0.7"], "elsewhere.example": ["93.184.215.14"]}
    settings = settings_with().model_copy(
        update={
            "twilio": settings_with().twilio.model_copy(
                update={"api_url": "https://twilio.internal"}
            )
        }
    )
    policy = OutboundPolicy.from_settings(settings, resolve=resolver(table))
    assert await policy.check_connect("twilio.internal", 443, sends_credentials=True) == [
        "10.0.0.7"
    ]
    with pytest.raises(DestinationRefused):
        await policy.check_connect("elsewhere.example", 443, sends_credentials=True)
