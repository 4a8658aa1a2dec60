"""TLS for ``wss://`` on this machine: a certificate authority made on the spot.

A browser trusts a server's certificate because a certificate authority it
already trusts signed it. On a laptop there is no such authority for
``127.0.0.1``, so :func:`local_tls` makes one with trustme: a throwaway CA
that exists only in this process, a certificate it signs for ``127.0.0.1``
and ``localhost``, and two ``ssl.SSLContext`` objects::

    tls = local_tls()
    server = serve("auth", ssl=tls.server)        # wss://127.0.0.1:PORT/
    ws = WebSocket(server.url, ssl=tls.client)    # trusts that CA, and only it

A client without ``tls.client`` refuses the connection, exactly as a browser
refuses a certificate it cannot verify. Both contexts use a modern
configuration: TLS 1.2 or newer, only ciphers with forward secrecy and
authenticated encryption (:data:`MODERN_CIPHERS`), no compression, and on the
client, certificate and host name checks on.

Nothing is written to disk; the CA's private key lives in memory only.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

import trustme

__all__ = [
    "DEFAULT_IDENTITIES",
    "MINIMUM_VERSION",
    "MODERN_CIPHERS",
    "LocalTLS",
    "client_context",
    "local_tls",
    "server_context",
]

#: The names the server certificate is valid for: what the course connects to.
DEFAULT_IDENTITIES = ("127.0.0.1", "localhost", "::1")
#: TLS 1.0 and 1.1 are deprecated (RFC 8996); 1.2 is the oldest still safe.
MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2
#: For TLS 1.2: forward secrecy (ECDHE, DHE) and authenticated encryption (GCM,
#: ChaCha20-Poly1305) only, as in Mozilla's "intermediate" configuration; Python's
#: default also allows CBC suites. TLS 1.3's suites are all of that kind already.
MODERN_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!DSS"


@dataclass(frozen=True)
class LocalTLS:
    """A local CA and the contexts that use it.

    Attributes:
        ca: the trustme certificate authority (``ca.cert_pem`` is its
            certificate, the thing a client must trust).
        server: the server's context, with the certificate and its key.
        client: a client's context that trusts ``ca`` and verifies host names.
        identities: the host names and addresses the certificate is for.
    """

    ca: Any
    server: ssl.SSLContext
    client: ssl.SSLContext
    identities: tuple[str, ...]

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate in PEM form (public: safe to show)."""
        pem: bytes = self.ca.cert_pem.bytes()
        return pem


def server_context(cert: Any) -> ssl.SSLContext:
    """A server-side context presenting ``cert`` (a trustme ``LeafCert``), TLS 1.2+."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    _modern(context)
    cert.configure_cert(context)
    return context


def client_context(ca: Any) -> ssl.SSLContext:
    """A client-side context that trusts ``ca`` only, TLS 1.2+, host names checked."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    _modern(context)
    # create_default_context already sets these; stated so nobody turns them off.
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    ca.configure_trust(context)
    return context


def _modern(context: ssl.SSLContext) -> None:
    """TLS 1.2 or newer, AEAD ciphers with forward secrecy, no compression (CRIME)."""
    context.minimum_version = MINIMUM_VERSION
    context.set_ciphers(MODERN_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION


def local_tls(identities: tuple[str, ...] = DEFAULT_IDENTITIES) -> LocalTLS:
    """Make a fresh CA, a server certificate for ``identities``, and both contexts.

    Each call makes a new CA: a client context from one call does not trust a
    server from another.
    """
    ca = trustme.CA(organization_name="wslab local CA")
    cert = ca.issue_cert(*identities)
    return LocalTLS(ca, server_context(cert), client_context(ca), tuple(identities))
