"""The outbound stack through a real forward proxy on loopback (both event loops).

A Unity read over TLS (the sandbox served by uvicorn with a certificate from a test CA given
in ``FRONTDESK_HTTP__CA_BUNDLE``) through a ``CONNECT`` tunnel (``HTTPS_PROXY``), and over
plain http through ``HTTP_PROXY``; the proxy counts what it relayed, so each test proves the
traffic went through it (or, with ``NO_PROXY``, that it did not).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import trustme
from tests.connectors.conftest import group_properties, unity_settings
from tests.connectors.http_peer import Serve, echo, post
from tests.connectors.proxy_peer import StartProxy

from frontdesk.connectors.allscripts.connector import UnityConnector
from frontdesk.connectors.base import CheckStatus, Window
from frontdesk.connectors.errors import Unreachable
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.errors import ConfigurationError
from frontdesk.outbound.http import build_transport
from frontdesk.retry import RetryPolicy
from frontdesk.sandbox.unity import Sandbox
from frontdesk.settings import load_settings

MONDAY = date(2025, 3, 3)
ENVIRONMENT = ("http_proxy", "https_proxy", "no_proxy", "all_proxy", "request_method")
ServeLoopback = Callable[..., Any]


@dataclass
class ClinicCa:
    bundle: Path
    """The CA's certificate (what FRONTDESK_HTTP__CA_BUNDLE points at)."""
    server_pem: Path
    """Key and chain of a certificate for 127.0.0.1 and localhost, signed by the CA."""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy variable and no CA bundle from the machine running the tests."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("FRONTDESK_HTTP__CA_BUNDLE", raising=False)
    return monkeypatch


@pytest.fixture
def test_ca(tmp_path: Path) -> ClinicCa:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(
        str(tmp_path / "server.pem")
    )
    return ClinicCa(tmp_path / "ca.pem", tmp_path / "server.pem")


def unity(url: str) -> UnityConnector:
    """The default group's connector as the registry builds it: its own outbound transport."""
    return UnityConnector.from_properties(
        group_properties(),
        unity_settings(url),  # reads FRONTDESK_HTTP__CA_BUNDLE from the environment
        limits=ConcurrencyLimits(total=8, per_group=4),
        retry=RetryPolicy(max_attempts=1),
    )


async def read_ids(connector: UnityConnector) -> list[str]:
    try:
        return [a.source_appointment_id async for a in connector.read(Window.day(MONDAY))]
    finally:
        await connector.aclose()


def served_ids(sandbox: Sandbox) -> list[str]:
    return [str(a.appointment_id) for a in sandbox.practice.appointments_on(MONDAY)]


async def test_unity_over_tls_through_a_connect_proxy(
    env: pytest.MonkeyPatch,
    test_ca: ClinicCa,
    app: Any,
    sandbox: Sandbox,
    serve_loopback: ServeLoopback,
    start_proxy: StartProxy,
) -> None:
    proxy = await start_proxy()
    env.setenv("HTTPS_PROXY", proxy.url)
    env.setenv("FRONTDESK_HTTP__CA_BUNDLE", str(test_ca.bundle))
    async with serve_loopback(app, certfile=test_ca.server_pem) as url:
        connector = unity(url)
        assert await read_ids(connector) == served_ids(sandbox)
        port = url.rsplit(":", 1)[1]
    assert proxy.tunnels == [f"127.0.0.1:{port}"] * len(proxy.tunnels)
    assert 1 <= len(proxy.tunnels) <= 4  # the group's pool: connections reused, not per call
    assert connector.client.stats.requests > len(proxy.tunnels)
    assert proxy.forwarded == []


async def test_without_the_ca_bundle_the_server_is_not_trusted(
    env: pytest.MonkeyPatch,
    test_ca: ClinicCa,
    app: Any,
    serve_loopback: ServeLoopback,
    start_proxy: StartProxy,
) -> None:
    proxy = await start_proxy()
    env.setenv("HTTPS_PROXY", proxy.url)
    async with serve_loopback(app, certfile=test_ca.server_pem) as url:
        connector = unity(url)
        with pytest.raises(Unreachable) as raised:
            await connector.client.login()
        result = await connector.check()
        await connector.aclose()
    assert "TLS certificate of 127.0.0.1" in raised.value.message
    assert "FRONTDESK_HTTP__CA_BUNDLE" in raised.value.message
    assert result.status is CheckStatus.UNREACHABLE
    assert "not trusted" in result.message
    assert proxy.tunnels  # the tunnel was made; the handshake inside it failed


async def test_no_proxy_bypasses_the_proxy(
    env: pytest.MonkeyPatch,
    test_ca: ClinicCa,
    app: Any,
    sandbox: Sandbox,
    serve_loopback: ServeLoopback,
    start_proxy: StartProxy,
) -> None:
    proxy = await start_proxy()
    env.setenv("https_proxy", proxy.url)
    env.setenv("no_proxy", "example.org, 127.0.0.1")
    env.setenv("FRONTDESK_HTTP__CA_BUNDLE", str(test_ca.bundle))
    async with serve_loopback(app, certfile=test_ca.server_pem) as url:
        assert await read_ids(unity(url)) == served_ids(sandbox)
    assert proxy.relayed == 0


async def test_plain_http_goes_through_http_proxy_in_absolute_form(
    env: pytest.MonkeyPatch,
    app: Any,
    sandbox: Sandbox,
    serve_loopback: ServeLoopback,
    start_proxy: StartProxy,
) -> None:
    proxy = await start_proxy()
    env.setenv("HTTP_PROXY", proxy.url)
    env.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # not for http targets
    async with serve_loopback(app) as url:
        connector = unity(url)
        assert await read_ids(connector) == served_ids(sandbox)
    assert len(proxy.forwarded) == connector.client.stats.requests
    assert all(line.startswith(f"POST {url}/UnityService.svc/json/") for line in proxy.forwarded)
    assert proxy.tunnels == []


async def test_proxy_credentials_from_the_proxy_url(
    env: pytest.MonkeyPatch,
    test_ca: ClinicCa,
    app: Any,
    sandbox: Sandbox,
    serve_loopback: ServeLoopback,
    start_proxy: StartProxy,
) -> None:
    proxy = await start_proxy(credentials=("clinic", "p@ss:word"))
    env.setenv("FRONTDESK_HTTP__CA_BUNDLE", str(test_ca.bundle))
    async with serve_loopback(app, certfile=test_ca.server_pem) as url:
        env.setenv("HTTPS_PROXY", f"clinic:p%40ss%3Aword@127.0.0.1:{proxy.port}")  # no scheme
        assert await read_ids(unity(url)) == served_ids(sandbox)
        assert proxy.refused == 0

        env.setenv("HTTPS_PROXY", f"http://clinic:wrong@127.0.0.1:{proxy.port}")
        refused = unity(url)
        with pytest.raises(Unreachable) as raised:
            await refused.client.login()
        await refused.aclose()
    expected = "Basic " + base64.b64encode(b"clinic:p@ss:word").decode()
    assert proxy.authorizations[0] == expected
    assert proxy.refused == 1
    assert "the proxy refused the tunnel: HTTP 407" in raised.value.message
    assert "wrong" not in raised.value.message


async def test_plain_http_proxy_credentials_go_with_each_request(
    env: pytest.MonkeyPatch, serve: Serve, start_proxy: StartProxy
) -> None:
    proxy = await start_proxy(credentials=("u", "pw"))
    server = await serve(echo)
    env.setenv("http_proxy", f"http://u:pw@127.0.0.1:{proxy.port}")
    transport = build_transport(load_settings(), max_connections=2)
    assert await post(transport, server.url, b"one") == b"one"
    assert await post(transport, server.url, b"two") == b"two"
    await transport.aclose()
    assert proxy.forwarded == [f"POST {server.url}"] * 2
    assert server.connections == 1  # the proxy's one upstream connection, reused
    assert all(b"proxy-authorization" not in head.lower() for head in server.heads)


async def test_connect_check_runs_before_each_new_connection(
    env: pytest.MonkeyPatch, serve: Serve
) -> None:
    allowed, blocked = await serve(echo), await serve(echo)
    checked: list[tuple[str, int]] = []

    async def check(host: str, port: int) -> None:
        checked.append((host, port))
        if port == blocked.port:
            raise PermissionError("not on the allow-list")

    transport = build_transport(load_settings(), max_connections=1, connect_check=check)
    assert await post(transport, allowed.url, b"a") == b"a"
    assert await post(transport, allowed.url, b"b") == b"b"  # reused: not checked again
    with pytest.raises(PermissionError):
        await post(transport, blocked.url, b"c")
    assert await post(transport, allowed.url, b"d") == b"d"  # the refused slot came back
    await transport.aclose()
    host = "127.0.0.1"
    assert checked == [(host, allowed.port), (host, blocked.port), (host, allowed.port)]
    assert blocked.connections == 0


def test_the_ca_bundle_setting(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("FRONTDESK_HTTP__CA_BUNDLE", str(tmp_path / "missing.pem"))
    settings = load_settings()
    assert settings.http.ca_bundle == tmp_path / "missing.pem"
    with pytest.raises(ConfigurationError) as raised:
        build_transport(settings, max_connections=1)
    assert raised.value.field == "http.ca_bundle"
