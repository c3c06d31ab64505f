"""The ``email`` channel: one multipart/alternative message (plain text + HTML) per batch,
sent with aiosmtplib over STARTTLS (default), implicit TLS or plain SMTP.

Certificates are always verified (``ca_file`` adds a CA bundle, e.g. a company CA or a
test CA). Permanent failures: bad login, a refused sender or recipient (5xx), a server
without STARTTLS when it is required, a certificate that does not verify. Everything
else (connection refused, timeouts, 4xx, dropped connections) is retryable.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import ClassVar, Literal

import aiosmtplib
import httpx

from watcher.errors import ConfigError, DeliveryError
from watcher.models import AlertBatch
from watcher.notify.channels.base import Channel
from watcher.notify.digest import csv_name, csv_table
from watcher.notify.mail import inline_photos, render_html, render_text
from watcher.notify.render import subject_line
from watcher.readable import clean

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def check_address(value: str, path: str) -> None:
    """A single plain ``user@domain`` address, or ConfigError."""
    try:
        addr = Address(addr_spec=value)
    except (ValueError, IndexError, TypeError, HeaderParseError) as e:
        raise ConfigError(path, f"not an email address: {value!r} ({e})") from None
    if not addr.username or "." not in addr.domain or addr.addr_spec != value.strip():
        raise ConfigError(path, f"not an email address: {value!r}")


def _addresses(value: list[str], path: str) -> None:
    if not value:
        raise ConfigError(path, "needs at least one recipient address")
    for i, v in enumerate(value):
        check_address(v, f"{path}[{i}]")


def _host(value: str, path: str) -> None:
    if not value.strip() or (any(c in value for c in " /:@") and not value.startswith("[")):
        raise ConfigError(path, f"expected a host name, got {value!r}")


def _port(value: int, path: str) -> None:
    if not 0 < value < 65536:
        raise ConfigError(path, f"must be a port number (1-65535), got {value}")


def _positive(value: timedelta, path: str) -> None:
    if value.total_seconds() <= 0:
        raise ConfigError(path, "must be greater than 0")


@dataclass(slots=True)
class EmailOptions:
    """``[[alerts]] kind = "email"``."""

    host: str = field(metadata={"check": _host})
    sender: str = field(metadata={"check": check_address})
    to: list[str] = field(metadata={"check": _addresses})
    port: int = field(default=587, metadata={"check": _port})
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password: str = ""
    timeout: timedelta = field(default=timedelta(seconds=30), metadata={"check": _positive})
    ca_file: str = ""

    def validate(self, path: str) -> None:
        """Cross-field checks: credentials come in pairs, never in clear text off-host,
        and ``ca_file`` must exist."""
        if self.password and not self.username:
            raise ConfigError(f"{path}.username", "is required when a password is set")
        if self.username and self.security == "none" and self.host not in _LOOPBACK:
            raise ConfigError(
                f"{path}.security",
                "'none' would send the password unencrypted; use 'starttls' or 'tls'",
            )
        if self.ca_file and not Path(self.ca_file).is_file():
            raise ConfigError(f"{path}.ca_file", f"no such file: {self.ca_file!r}")


def build_message(batch: AlertBatch, sender: str, to: list[str]) -> EmailMessage:
    """The email for ``batch``: subject ``[watcher] <subject line>`` in the batch's
    language, Date in its time zone, Message-ID, a text part and an HTML part; the photos
    of a copy ride inline with the HTML (multipart/related, one Content-ID each)."""
    msg = EmailMessage()
    msg["Subject"] = "[watcher] " + clean(subject_line(batch))
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(datetime.now(batch.audience.tz))
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(render_text(batch))
    msg.add_alternative(render_html(batch), subtype="html")
    html_part = msg.get_body(preferencelist=("html",))
    if isinstance(html_part, EmailMessage):
        for cid, photo in inline_photos(batch):
            _, _, subtype = photo.content_type.partition("/")
            html_part.add_related(
                photo.data,
                maintype="image",
                subtype=subtype,
                cid=f"<{cid}>",
                disposition="inline",
                filename=f"{cid.partition('@')[0]}.{'jpg' if subtype == 'jpeg' else subtype}",
            )
    if batch.digest is not None:
        # The full list of a digest whose storms are summarised; ``add_attachment`` turns
        # the message into multipart/mixed around the text and HTML parts.
        msg.add_attachment(
            csv_table(batch),
            maintype="text",
            subtype="csv",
            filename=batch.digest.attached or csv_name(batch.digest, batch.audience),
        )
    return msg


class EmailChannel(Channel):
    """Sends each batch as one email to every address in ``to``."""

    kind: ClassVar[str] = "email"
    Options: ClassVar[type] = EmailOptions
    attaches: ClassVar[bool] = True

    def __init__(self, options: EmailOptions, client: httpx.AsyncClient) -> None:
        super().__init__(options, client)
        self._tls: ssl.SSLContext | None = None

    def tls_context(self) -> ssl.SSLContext:
        """The verifying TLS context (system CAs plus ``ca_file``)."""
        if self._tls is None:
            ctx = ssl.create_default_context()
            if self.options.ca_file:
                ctx.load_verify_locations(cafile=self.options.ca_file)
            self._tls = ctx
        return self._tls

    async def send(self, batch: AlertBatch) -> None:
        """Deliver ``batch``; raise DeliveryError (``retryable`` set) on failure."""
        if not batch.findings:
            return
        o: EmailOptions = self.options
        msg = build_message(batch, o.sender, o.to)
        where = f"email via {o.host}:{o.port}"
        try:
            await aiosmtplib.send(
                msg,
                hostname=o.host,
                port=o.port,
                username=o.username or None,
                password=o.password or None,
                use_tls=o.security == "tls",
                start_tls=o.security == "starttls",
                tls_context=self.tls_context() if o.security != "none" else None,
                timeout=o.timeout.total_seconds(),
            )
        except aiosmtplib.SMTPAuthenticationError as e:
            raise DeliveryError(
                f"{where}: login refused ({e.code} {_short(e.message)})", retryable=False
            ) from None
        except aiosmtplib.SMTPRecipientsRefused as e:
            codes = [r.code for r in e.recipients]
            detail = "; ".join(f"{r.recipient}: {r.code} {_short(r.message)}" for r in e.recipients)
            raise DeliveryError(
                f"{where}: recipients refused ({detail})",
                retryable=not all(500 <= c < 600 for c in codes),
            ) from None
        except aiosmtplib.SMTPResponseException as e:
            raise DeliveryError(
                f"{where}: server answered {e.code} {_short(e.message)}",
                retryable=not 500 <= e.code < 600,
            ) from None
        except (aiosmtplib.SMTPTimeoutError, TimeoutError) as e:
            raise DeliveryError(f"{where}: timed out ({_short(str(e))})", retryable=True) from None
        except aiosmtplib.SMTPConnectError as e:
            cause = e.__cause__ or e.__context__
            if isinstance(cause, ssl.SSLCertVerificationError):
                raise DeliveryError(
                    f"{where}: the server's certificate does not verify "
                    f"({cause.verify_message}); set ca_file if it uses a private CA",
                    retryable=False,
                ) from None
            raise DeliveryError(f"{where}: cannot connect ({_short(str(e))})") from None
        except ssl.SSLCertVerificationError as e:
            raise DeliveryError(
                f"{where}: the server's certificate does not verify ({e.verify_message}); "
                "set ca_file if it uses a private CA",
                retryable=False,
            ) from None
        except aiosmtplib.SMTPException as e:
            text = _short(str(e))
            permanent = "not supported" in text.lower()
            raise DeliveryError(f"{where}: {text}", retryable=not permanent) from None
        except OSError as e:
            raise DeliveryError(f"{where}: {type(e).__name__}: {_short(str(e))}") from None


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
