"""The email channel against a real aiosmtpd server on loopback (STARTTLS + AUTH,
implicit TLS, plain), with a throw-away CA from trustme."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.findings import stored
from watcher.config import build
from watcher.errors import ConfigError, DeliveryError
from watcher.models import AlertBatch, Severity
from watcher.notify.channels import channel_kinds
from watcher.notify.channels.email import EmailChannel, EmailOptions

TZ = timezone(timedelta(hours=8))
NOW = datetime(2027, 3, 1, 8, 0, tzinfo=TZ)
HOSTILE = "</b><script>alert(1)</script> <!channel> @all [x](http://evil)"
USER, PASSWORD = "watcher@example.com", "pa55-word"


def batch() -> AlertBatch:
    own = {
        "url": "https://my-shop.example/p/1",
        "title": "亚麻衬衫 男款",
        "price": 89.0,
        "currency": "CNY",
    }
    copy = {
        "url": "https://market.example/i/9",
        "title": HOSTILE,
        "price": 69.0,
        "currency": "CNY",
        "shop": "Market",
    }
    review = {
        "rating": 2,
        "text": "质量太差了，洗一次就缩水。",
        "author": "张三",
        "published_at": "2027-02-28",
        "reason": "rating",
    }
    return AlertBatch(
        [
            stored("negative_review", Severity.HIGH, "My Shop", own, "s", review, "r1", NOW),
            stored(
                "copied_listing",
                Severity.HIGH,
                "My Shop",
                own,
                "s",
                {"copy": copy, "title_similarity": 0.9, "image_distance": 2},
                "c1",
                NOW,
            ),
        ]
    )


class Sink:
    """aiosmtpd handler that keeps every message."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


def authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    return ctx


def serve(sink: Sink, **kwargs: Any) -> Iterator[Controller]:
    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def starttls(server_tls: ssl.SSLContext) -> Iterator[tuple[Controller, Sink]]:
    sink = Sink()
    for c in serve(
        sink,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
    ):
        yield c, sink


def channel(client: httpx.AsyncClient, port: int, **options: Any) -> EmailChannel:
    data = {
        "host": "127.0.0.1",
        "port": port,
        "sender": "watcher@example.com",
        "to": ["owner@example.com", "ops@example.org"],
        "timeout": "5s",
        **options,
    }
    return EmailChannel(build(EmailOptions, data, "alerts[1]"), client)


def parse(envelope: Any) -> email.message.EmailMessage:
    return email.message_from_bytes(envelope.original_content, policy=email.policy.default)  # type: ignore[return-value]


def check_message(envelope: Any) -> None:
    assert envelope.mail_from == "watcher@example.com"
    assert envelope.rcpt_tos == ["owner@example.com", "ops@example.org"]
    msg = parse(envelope)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Subject"] == "[watcher] My Shop: 1 copied listing, 1 negative review"
    assert msg["From"] == "watcher@example.com"
    assert msg["To"] == "owner@example.com, ops@example.org"
    assert msg["Date"] and msg["Message-ID"].endswith("@example.com>")
    assert email.utils.parsedate_to_datetime(msg["Date"]) is not None
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    plain, markup = text.get_content(), html.get_content()
    assert "质量太差了，洗一次就缩水。" in plain and "质量太差了，洗一次就缩水。" in markup
    assert "张三" in markup and "★★☆☆☆" in markup and "¥20.00 cheaper" in plain
    assert HOSTILE in plain  # the text part shows it as text
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert 'href="http://evil' not in markup and "<!channel>" not in markup
    assert 'href="https://market.example/i/9"' in markup
    # Stolen photo first, then the 2-star review.
    assert plain.index("Copied listing") < plain.index("Negative review")


async def test_starttls_with_auth(
    starttls: tuple[Controller, Sink], client: httpx.AsyncClient, ca_file: str
) -> None:
    controller, sink = starttls
    ch = channel(client, controller.port, username=USER, password=PASSWORD, ca_file=ca_file)
    await ch.send(batch())
    assert len(sink.envelopes) == 1
    check_message(sink.envelopes[0])


async def test_empty_batch_sends_nothing(
    starttls: tuple[Controller, Sink], client: httpx.AsyncClient, ca_file: str
) -> None:
    controller, sink = starttls
    await channel(client, controller.port, username=USER, password=PASSWORD, ca_file=ca_file).send(
        AlertBatch([])
    )
    assert sink.envelopes == []


async def test_bad_login_is_permanent(
    starttls: tuple[Controller, Sink], client: httpx.AsyncClient, ca_file: str
) -> None:
    controller, sink = starttls
    ch = channel(client, controller.port, username=USER, password="wrong-pw", ca_file=ca_file)
    with pytest.raises(DeliveryError) as e:
        await ch.send(batch())
    assert e.value.retryable is False and "535" in str(e.value)
    assert "wrong-pw" not in str(e.value)
    assert sink.envelopes == []


async def test_untrusted_certificate_is_refused(
    starttls: tuple[Controller, Sink], client: httpx.AsyncClient
) -> None:
    controller, sink = starttls
    ch = channel(client, controller.port, username=USER, password=PASSWORD)
    with pytest.raises(DeliveryError) as e:
        await ch.send(batch())
    assert e.value.retryable is False and "certificate" in str(e.value)
    assert sink.envelopes == []


# aiosmtpd's auth_require_tls only knows STARTTLS; the connection here is TLS from the start.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_implicit_tls(
    server_tls: ssl.SSLContext, client: httpx.AsyncClient, ca_file: str
) -> None:
    sink = Sink()
    for controller in serve(
        sink,
        ssl_context=server_tls,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    ):
        ch = channel(
            client,
            controller.port,
            security="tls",
            username=USER,
            password=PASSWORD,
            ca_file=ca_file,
        )
        await ch.send(batch())
    assert len(sink.envelopes) == 1
    check_message(sink.envelopes[0])


async def test_plain_smtp(client: httpx.AsyncClient) -> None:
    sink = Sink()
    for controller in serve(sink):
        await channel(client, controller.port, security="none").send(batch())
        # STARTTLS is required by default: a server without it is a permanent error.
        with pytest.raises(DeliveryError) as e:
            await channel(client, controller.port).send(batch())
        assert e.value.retryable is False and "STARTTLS" in str(e.value)
    assert len(sink.envelopes) == 1
    check_message(sink.envelopes[0])


async def test_server_down_is_retryable(client: httpx.AsyncClient) -> None:
    ch = channel(client, free_port(), security="none")
    with pytest.raises(DeliveryError) as e:
        await ch.send(batch())
    assert e.value.retryable is True


async def test_refused_recipient_is_permanent(client: httpx.AsyncClient) -> None:
    class Picky(Sink):
        async def handle_RCPT(
            self, server: Any, session: Any, envelope: Any, address: str, options: Any
        ) -> str:
            return "550 no such user"

    for controller in serve(Picky()):
        with pytest.raises(DeliveryError) as e:
            await channel(client, controller.port, security="none").send(batch())
    assert e.value.retryable is False and "550" in str(e.value)


def test_channel_is_discovered() -> None:
    assert channel_kinds()["email"] is EmailChannel


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({"to": []}, "alerts[1].to"),
        ({"to": ["not-an-address"]}, "alerts[1].to[0]"),
        ({"to": ["a@example.com", "b@@x"]}, "alerts[1].to[1]"),
        ({"sender": "Watcher <w@example.com>"}, "alerts[1].sender"),
        ({"port": 70000}, "alerts[1].port"),
        ({"security": "ssl"}, "alerts[1].security"),
        ({"password": "x"}, "alerts[1].username"),
        (
            {"host": "smtp.example.com", "security": "none", "username": "u", "password": "p"},
            "alerts[1].security",
        ),
        ({"ca_file": "/nonexistent/ca.pem"}, "alerts[1].ca_file"),
        ({"host": ""}, "alerts[1].host"),
    ],
)
def test_options_validation(options: dict[str, Any], path: str) -> None:
    data = {
        "host": "smtp.example.com",
        "sender": "w@example.com",
        "to": ["o@example.com"],
        **options,
    }
    with pytest.raises(ConfigError) as e:
        build(EmailOptions, data, "alerts[1]")
    assert e.value.path == path


def test_options_defaults(tmp_path: Path) -> None:
    opts = build(
        EmailOptions,
        {"host": "smtp.example.com", "sender": "w@example.com", "to": ["o@example.com"]},
    )
    assert (opts.port, opts.security, opts.ca_file) == (587, "starttls", "")
    with pytest.raises(ConfigError) as e:
        build(EmailOptions, {"host": "smtp.example.com", "to": ["o@example.com"]}, "alerts[1]")
    assert e.value.path == "alerts[1].sender"
