"""A real SMTP server on loopback (aiosmtpd) that records what the assistant sends.

It speaks plain SMTP, STARTTLS or TLS from the first byte with a throwaway certificate
(``certificate()``; a client trusts it through ``SSL_CERT_FILE``), can require a login, and
can misbehave on purpose: refuse the first messages with a temporary error, or drop the
connection at QUIT, after it has accepted a message.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    login: str | None  # who logged in, if anyone
    tls: bool  # the session was encrypted when the message was sent

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook names)
        with self.server.lock:
            self.server.data_commands += 1
            if self.server.data_commands <= self.server.fail_first:
                return "451 4.3.0 Try again later"
            login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
            tls = server.transport.get_extra_info("ssl_object") is not None
            self.server.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content, login, tls))
        return "250 2.0.0 Message accepted for delivery"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.server.drop_on_quit:  # the connection breaks after the message was accepted
            server.transport.abort()
        return "221 2.0.0 Bye"


class SmtpServer:
    """``mode``: "none" (plain), "starttls" or "ssl"; ``credentials``: (user, password) to require a login."""

    def __init__(
        self,
        port: int,
        mode: str = "none",
        cert: tuple[Path, Path] | None = None,
        credentials: tuple[str, str] | None = None,
        fail_first: int = 0,
        drop_on_quit: bool = False,
    ) -> None:
        self.port = port
        self.fail_first = fail_first
        self.drop_on_quit = drop_on_quit
        self.data_commands = 0
        self.received: list[Received] = []
        self.lock = threading.Lock()
        kwargs: dict[str, Any] = {}
        if mode != "none":
            assert cert is not None, "TLS needs a certificate"
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*cert)
            kwargs["ssl_context" if mode == "ssl" else "tls_context"] = context
            kwargs["require_starttls"] = mode == "starttls"
        if credentials:
            kwargs |= {"authenticator": _authenticator(credentials), "auth_required": True}
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=port, **kwargs)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [r.message for r in self.received]


@contextlib.contextmanager
def smtp_server(port: int, **kwargs: Any) -> Iterator[SmtpServer]:
    server = SmtpServer(port, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()


def certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (certificate file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test SMTP server")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_file, key_file


def _authenticator(credentials: tuple[str, str]) -> Any:
    user, password = (value.encode() for value in credentials)

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (user, password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    return authenticate
