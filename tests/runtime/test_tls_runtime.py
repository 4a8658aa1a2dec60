"""wslab.runtime.tls: a local CA for wss://, checked with real TLS connections."""

from __future__ import annotations

import asyncio
import json
import ssl
import warnings
from typing import Any

import aiohttp
import pytest
from helpers import recv_json, sync_connect
from websockets.asyncio.client import connect

import wslab
from wslab.runtime.tls import (
    DEFAULT_IDENTITIES,
    MINIMUM_VERSION,
    LocalTLS,
    client_context,
    local_tls,
)


@pytest.fixture(scope="module")
def tls() -> LocalTLS:
    return local_tls()


def still_serving(server: wslab.RunningServer, tls: LocalTLS) -> None:
    """A refused client does not disturb the server: a good one still gets in.

    With the asyncio client and one deadline for all of it: websockets' sync
    client can wait forever on a TLS socket whose handshake timed out (its
    reader thread stays blocked in the SSL read), which would hang the suite.
    """

    async def welcome() -> Any:
        url = f"{server.url}?token={server.app.issue('bob')}"
        async with connect(url, ssl=tls.client, proxy=None, open_timeout=5) as ws:
            return json.loads(await ws.recv())

    assert asyncio.run(asyncio.wait_for(welcome(), 15))["user"] == "bob"


def test_contexts_are_configured_for_modern_tls(tls: LocalTLS) -> None:
    assert ssl.TLSVersion.TLSv1_2 == MINIMUM_VERSION
    for context in (tls.server, tls.client):
        assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert tls.client.check_hostname is True
    assert tls.client.verify_mode == ssl.CERT_REQUIRED
    assert tls.identities == DEFAULT_IDENTITIES == ("127.0.0.1", "localhost", "::1")
    assert tls.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")


def test_a_wss_connection_succeeds_with_the_client_context(tls: LocalTLS) -> None:
    server = wslab.serve("auth", ssl=tls.server)
    assert server.url.startswith("wss://127.0.0.1:")
    token = server.app.issue("alice")
    with sync_connect(f"{server.url}?token={token}", ssl=tls.client) as ws:
        assert recv_json(ws) == {"type": "welcome", "user": "alice"}
        version = ws.socket.version()  # the ssl.SSLSocket of the sync client
    assert version in ("TLSv1.2", "TLSv1.3")


def test_the_certificate_is_also_valid_for_localhost(tls: LocalTLS) -> None:
    server = wslab.serve("auth", ssl=tls.server)
    token = server.app.issue("bob")
    url = f"{server.url}?token={token}"
    with sync_connect(url, ssl=tls.client, server_hostname="localhost") as ws:
        assert recv_json(ws)["user"] == "bob"


def test_a_wss_connection_fails_without_the_client_context(tls: LocalTLS) -> None:
    server = wslab.serve("auth", ssl=tls.server)
    with pytest.raises(ssl.SSLCertVerificationError):
        sync_connect(server.url)  # the system's CAs do not know our local CA
    assert server.app.sessions == {}
    still_serving(server, tls)


def test_a_client_trusting_another_ca_fails(tls: LocalTLS) -> None:
    server = wslab.serve("auth", ssl=tls.server)
    with pytest.raises(ssl.SSLCertVerificationError):
        sync_connect(server.url, ssl=local_tls().client)
    still_serving(server, tls)


def test_a_wrong_host_name_fails(tls: LocalTLS) -> None:
    server = wslab.serve("auth", ssl=tls.server)
    with pytest.raises(ssl.SSLCertVerificationError):
        sync_connect(server.url, ssl=tls.client, server_hostname="example.com")
    still_serving(server, tls)


def test_old_tls_versions_are_refused(tls: LocalTLS) -> None:
    server = wslab.serve("auth", ssl=tls.server)
    old = client_context(tls.ca)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1 is deprecated: good
        old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises((ssl.SSLError, ConnectionError)):
        sync_connect(server.url, ssl=old)
    still_serving(server, tls)


def test_plain_ws_to_a_tls_server_fails(tls: LocalTLS) -> None:
    server = wslab.serve("auth", ssl=tls.server)
    with pytest.raises(Exception):  # noqa: B017 - any failure will do: no handshake
        sync_connect(server.url.replace("wss://", "ws://"), open_timeout=2)
    still_serving(server, tls)


async def test_https_login_with_the_client_context(tls: LocalTLS) -> None:
    server = wslab.serve("auth", ssl=tls.server)
    assert server.app.login_url.startswith("https://127.0.0.1:")
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            server.app.login_url,
            json={"username": "alice", "password": "wonderland"},
            ssl=tls.client,
        ) as response,
    ):
        assert response.status == 200
        body = json.loads(await response.text())
        cookie = response.headers["Set-Cookie"]
    assert server.app.check(body["token"]) == "alice"
    assert "Secure" in cookie  # over TLS, the cookie is only ever sent over TLS
