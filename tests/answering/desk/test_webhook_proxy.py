"""The webhook sender goes through the process's outbound stack: proxies and the CA bundle."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme
from tests.connectors import http_peer, proxy_peer
from tests.connectors.http_peer import Serve, echo
from tests.connectors.proxy_peer import StartProxy

from frontdesk.settings import load_settings
from frontdesk.webhooks.sender import WebhookSender

serve = http_peer.serve  # fixtures: a loopback receiver and a forward proxy
start_proxy = proxy_peer.start_proxy


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy", "request_method"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("FRONTDESK_HTTP__CA_BUNDLE", raising=False)
    return monkeypatch


async def test_http_webhook_through_http_proxy(
    env: pytest.MonkeyPatch, serve: Serve, start_proxy: StartProxy
) -> None:
    proxy = await start_proxy()
    receiver = await serve(echo)
    env.setenv("HTTP_PROXY", proxy.url)
    sender = WebhookSender.from_settings(load_settings(), timeout_s=5)
    result = await sender.post(receiver.url, b'{"event":"x"}', {"X-Frontdesk-Delivery": "1"})
    await sender.aclose()
    assert result.delivered
    assert proxy.forwarded == [f"POST {receiver.url}"]
    assert receiver.bodies == [b'{"event":"x"}']
    assert b"x-frontdesk-delivery: 1" in receiver.heads[0].lower()


async def test_https_webhook_through_a_connect_tunnel_with_the_ca_bundle(
    env: pytest.MonkeyPatch, serve: Serve, start_proxy: StartProxy, tmp_path: Path
) -> None:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_tls)
    receiver = await serve(echo, tls=server_tls)
    proxy = await start_proxy()
    env.setenv("HTTPS_PROXY", proxy.url)
    url = f"https://localhost:{receiver.port}/hook"

    untrusting = WebhookSender.from_settings(load_settings(), timeout_s=5)
    failed = await untrusting.post(url, b"{}", {})
    await untrusting.aclose()
    assert not failed.delivered
    assert failed.error == "connection failed"

    env.setenv("FRONTDESK_HTTP__CA_BUNDLE", str(tmp_path / "ca.pem"))
    sender = WebhookSender.from_settings(load_settings(), timeout_s=5)
    result = await sender.post(url, b"{}", {})
    await sender.aclose()
    assert result.delivered
    assert proxy.tunnels == [f"localhost:{receiver.port}"] * 2
    assert receiver.bodies == [b"{}"]
