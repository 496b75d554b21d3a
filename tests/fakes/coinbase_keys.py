"""Throwaway credentials for the loopback Coinbase fake: an EC P-256 API key and a TLS CA."""

from __future__ import annotations

import ssl
from pathlib import Path

import attrs
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


@attrs.frozen(kw_only=True)
class TestKey:
    name: str  # COINBASE_API_KEY
    secret: str  # COINBASE_API_SECRET: "-----BEGIN EC PRIVATE KEY-----..."
    public_pem: bytes


def make_key(name: str = "organizations/test-org/apiKeys/test-key") -> TestKey:
    private = ec.generate_private_key(ec.SECP256R1())
    secret = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                   serialization.NoEncryption()).decode()
    public = private.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    return TestKey(name=name, secret=secret, public_pem=public)


@attrs.frozen(kw_only=True)
class TestTls:
    ca_file: str  # the CA bundle a client must trust (ca_bundle=)
    server_context: ssl.SSLContext


def make_tls(directory: Path) -> TestTls:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    ca_file = directory / "coinbase-fake-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return TestTls(ca_file=str(ca_file), server_context=context)
