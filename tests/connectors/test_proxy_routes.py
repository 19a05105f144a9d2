"""Which proxy a target goes through, from the standard environment variables."""

from __future__ import annotations

import pytest

from frontdesk.errors import ConfigurationError
from frontdesk.outbound.proxies import Proxy, ProxyRoutes, parse_proxy

VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "all_proxy", "request_method")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def test_no_variable_no_routes(env: pytest.MonkeyPatch) -> None:
    env.setenv("ALL_PROXY", "http://ignored:1")
    assert ProxyRoutes.from_environment() is None


def test_each_scheme_has_its_variable(env: pytest.MonkeyPatch) -> None:
    env.setenv("HTTP_PROXY", "http://plain.lan:3128")
    env.setenv("HTTPS_PROXY", "http://tls.lan:8080")
    routes = ProxyRoutes.from_environment()
    assert routes is not None
    assert routes.proxy_for("http", "ehr.example", 80) == Proxy("plain.lan", 3128)
    assert routes.proxy_for("https", "ehr.example", 443) == Proxy("tls.lan", 8080)


def test_lower_case_wins_and_empty_unsets(env: pytest.MonkeyPatch) -> None:
    env.setenv("HTTPS_PROXY", "http://upper.lan:1")
    env.setenv("https_proxy", "http://lower.lan:2")
    env.setenv("HTTP_PROXY", "http://upper.lan:1")
    env.setenv("http_proxy", "")
    routes = ProxyRoutes.from_environment()
    assert routes is not None
    assert routes.proxy_for("https", "a.example", 443) == Proxy("lower.lan", 2)
    assert routes.proxy_for("http", "a.example", 80) is None


def test_http_proxy_is_ignored_in_a_cgi_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("REQUEST_METHOD", "GET")  # httpoxy: a request header could set HTTP_PROXY
    env.setenv("HTTP_PROXY", "http://attacker:1")
    assert ProxyRoutes.from_environment() is None


@pytest.mark.parametrize(
    ("no_proxy", "host", "port", "bypassed"),
    [
        pytest.param("ehr.example", "ehr.example", 443, True, id="exact-host"),
        pytest.param("EHR.example", "ehr.example", 443, True, id="case-insensitive"),
        pytest.param("example", "ehr.example", 443, True, id="domain-suffix"),
        pytest.param(".example", "ehr.example", 443, True, id="leading-dot"),
        pytest.param("r.example", "ehr.example", 443, False, id="not-a-label-suffix"),
        pytest.param("ehr.example:8443", "ehr.example", 8443, True, id="host-and-port"),
        pytest.param("ehr.example:8443", "ehr.example", 443, False, id="other-port"),
        pytest.param(" a.test , 10.0.0.5 ", "10.0.0.5", 443, True, id="list-with-spaces"),
        pytest.param("*", "anything.example", 443, True, id="star"),
        pytest.param("", "ehr.example", 443, False, id="empty"),
    ],
)
def test_no_proxy(
    env: pytest.MonkeyPatch, no_proxy: str, host: str, port: int, bypassed: bool
) -> None:
    env.setenv("HTTPS_PROXY", "http://proxy.lan:3128")
    env.setenv("NO_PROXY", no_proxy)
    routes = ProxyRoutes.from_environment()
    assert routes is not None
    assert (routes.proxy_for("https", host, port) is None) is bypassed


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("proxy.lan:3128", Proxy("proxy.lan", 3128), id="no-scheme"),
        pytest.param("http://proxy.lan", Proxy("proxy.lan", 80), id="default-port"),
        pytest.param("HTTP://proxy.lan:1/", Proxy("proxy.lan", 1), id="upper-scheme"),
        pytest.param(
            "http://u%3A1:p%40w@proxy.lan:3",
            Proxy("proxy.lan", 3, b"Basic dToxOnBAdw=="),  # base64 of "u:1:p@w"
            id="credentials",
        ),
    ],
)
def test_proxy_urls(value: str, expected: Proxy) -> None:
    assert parse_proxy(value, variable="HTTPS_PROXY") == expected


@pytest.mark.parametrize(
    "value", ["https://u:secret@proxy.lan:1", "socks5://u:secret@proxy.lan:1", "http://:1"]
)
def test_unsupported_proxies_are_configuration_errors(value: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        parse_proxy(value, variable="HTTPS_PROXY")
    assert "HTTPS_PROXY" in raised.value.message
    assert "secret" not in raised.value.message


def test_the_authorization_is_not_in_the_repr() -> None:
    assert "Basic" not in repr(parse_proxy("http://u:secret@proxy.lan:1", variable="x"))
