"""Transports for the outbox: SMTP (optionally STARTTLS or implicit TLS, and
authentication) and, when no SMTP host is configured, a spool folder of
``.eml`` files.

``build_mime`` turns a claimed outbox row into the message that is sent.
Every header is a function of the stored row (Message-ID, In-Reply-To,
References, Date = when the row was written), so a message sent again after
a crash is byte-for-byte the same message and recipients' mail systems can
recognise it as a duplicate.

Errors are classified for the outbox: an SMTP 5xx reply to the message
(sender, recipients or data refused) is permanent, so the row is
dead-lettered; a refused connection, a timeout, a dropped connection or a
4xx reply is transient and retried with backoff.  An authentication or TLS
failure is treated as transient: it is a configuration problem of the
service, not of the message, and the messages must survive until it is
fixed (they are dead-lettered after ``max_attempts`` like any other).
"""

from __future__ import annotations

import email.policy
import hashlib
import os
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from alerts.errors import DeliveryError
from alerts.rules import DeliveryPolicy
from db.alert_ops import ClaimedMessage


@dataclass(frozen=True)
class MailConfig:
    """The ``smtp.*`` settings the transports need."""

    host: str | None
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = "cislunar-monitor@localhost"
    default_recipients: tuple[str, ...] = ()
    spool_dir: Path | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> "MailConfig":
        spool = settings["smtp.spool_dir"]
        return cls(
            host=settings["smtp.host"],
            port=settings["smtp.port"],
            starttls=settings["smtp.starttls"],
            username=settings["smtp.username"],
            password=settings["smtp.password"],
            sender=settings["smtp.sender"],
            default_recipients=tuple(settings["smtp.recipients"] or ()),
            spool_dir=Path(spool) if spool else None,
        )


# Headers up to RFC 5322's hard limit of 998 characters per line: Python's
# folder at 78 sometimes breaks right after "Subject:", which some clients
# show as a leading blank.
MIME_POLICY = email.policy.default.clone(max_line_length=998)


def build_mime(msg: ClaimedMessage, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    m = EmailMessage(policy=MIME_POLICY)
    m["From"] = sender
    m["To"] = ", ".join(recipients) if recipients else "undisclosed-recipients:;"
    m["Subject"] = msg.subject
    m["Date"] = format_datetime(msg.created_at)
    m["Message-ID"] = msg.message_id
    if msg.in_reply_to:
        m["In-Reply-To"] = msg.in_reply_to
        m["References"] = msg.in_reply_to
    m["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    if msg.alert_id is not None:
        m["X-Cislunar-Alert-Id"] = str(msg.alert_id)
    m.set_content(msg.body_text)
    if msg.body_html:
        m.add_alternative(msg.body_html, subtype="html")
        if msg.attachment_png:
            html_part = m.get_payload()[1]
            html_part.add_related(msg.attachment_png, maintype="image", subtype="png", cid="<encounter>", filename="encounter.png")
    elif msg.attachment_png:
        m.add_attachment(msg.attachment_png, maintype="image", subtype="png", filename="encounter.png")
    # MIME boundaries are random by default; derive them from the
    # Message-ID so a re-sent message is byte-for-byte the same.
    key = hashlib.sha256(msg.message_id.encode()).hexdigest()[:24]
    for i, part in enumerate(p for p in m.walk() if p.is_multipart()):
        part.set_boundary(f"==cislunar-{key}-{i}==")
    return m


def _code_of(exc: smtplib.SMTPException) -> int | None:
    return getattr(exc, "smtp_code", None)


def classify(exc: BaseException, message_id: str | None = None) -> DeliveryError:
    """A DeliveryError (permanent or transient) for an SMTP/socket failure."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _ in exc.recipients.values()]
        permanent = bool(codes) and all(c >= 500 for c in codes)
        detail = "; ".join(f"{rcpt}: {c} {m.decode(errors='replace') if isinstance(m, bytes) else m}" for rcpt, (c, m) in exc.recipients.items())
        return DeliveryError(f"every recipient refused: {detail}", permanent=permanent, smtp_code=max(codes) if codes else None, message_id=message_id)
    if isinstance(exc, (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError)):
        return DeliveryError(f"SMTP configuration problem: {exc}", permanent=False, smtp_code=_code_of(exc), message_id=message_id)
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return DeliveryError(f"server replied {code} {text}", permanent=500 <= code < 600, smtp_code=code, message_id=message_id)
    if isinstance(exc, ssl.SSLError):
        return DeliveryError(f"TLS failure: {exc}", permanent=False, message_id=message_id)
    if isinstance(exc, (smtplib.SMTPException, OSError)):
        return DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False, message_id=message_id)
    raise exc


class SmtpTransport:
    """One connection per batch; ``send`` hands one message to the server."""

    def __init__(self, config: MailConfig, policy: DeliveryPolicy) -> None:
        if not config.host:
            raise ValueError("SmtpTransport needs smtp.host; without it use SpoolTransport")
        self.config = config
        self.policy = policy
        self._smtp: smtplib.SMTP | None = None

    def describe(self) -> str:
        mode = "implicit TLS" if self.policy.smtp_ssl else ("STARTTLS" if self.config.starttls else "plain")
        return f"SMTP {self.config.host}:{self.config.port} ({mode}{', auth' if self.config.username else ''})"

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.policy.smtp_ca_file)

    def open(self) -> None:
        if self._smtp is not None:
            return
        timeout = self.policy.smtp_timeout_seconds
        try:
            if self.policy.smtp_ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.config.host, self.config.port, timeout=timeout, context=self._context())
            else:
                smtp = smtplib.SMTP(self.config.host, self.config.port, timeout=timeout)
            try:
                smtp.ehlo()
                if self.config.starttls and not self.policy.smtp_ssl:
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if self.config.username:
                    smtp.login(self.config.username, self.config.password or "")
            except BaseException:
                smtp.close()
                raise
        except (smtplib.SMTPException, OSError) as exc:
            raise classify(exc) from exc
        self._smtp = smtp

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def send(self, msg: ClaimedMessage) -> str | None:
        """Send; returns a note (recipients refused) or None.  Raises DeliveryError."""
        recipients = msg.recipients or self.config.default_recipients
        if not recipients:
            raise DeliveryError("no recipients: set alerts.recipients, [[alerts.routes]] or smtp.recipients",
                                permanent=True, message_id=msg.message_id)
        self.open()
        mime = build_mime(msg, self.config.sender, recipients)
        try:
            refused = self._smtp.send_message(mime, from_addr=self.config.sender, to_addrs=list(recipients))
        except (smtplib.SMTPException, OSError) as exc:
            err = classify(exc, msg.message_id)
            if isinstance(exc, (smtplib.SMTPServerDisconnected, OSError)):
                self._drop()
            else:
                self._reset()
            raise err from exc
        if refused:
            return "accepted for some recipients; refused: " + "; ".join(f"{r}: {c}" for r, (c, _m) in refused.items())
        return None

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def _reset(self) -> None:
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()


_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def spool_name(msg: ClaimedMessage) -> str:
    """A file name that is a function of the row: writing it again replaces it."""
    return f"{msg.created_at:%Y%m%dT%H%M%SZ}-{_UNSAFE.sub('_', msg.message_id.strip('<>'))}.eml"


class SpoolTransport:
    """No SMTP server configured: each message becomes ``spool_dir/NAME.eml``.

    Written to a temporary name, flushed and renamed, so a file either is
    complete or does not exist; the name depends only on the message, so a
    retry after a crash overwrites the same file instead of duplicating it.
    """

    def __init__(self, config: MailConfig) -> None:
        if config.spool_dir is None:
            raise ValueError("SpoolTransport needs smtp.spool_dir")
        self.config = config
        self.spool_dir = Path(config.spool_dir)

    def describe(self) -> str:
        return f"spool folder {self.spool_dir}"

    def open(self) -> None:
        try:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeliveryError(f"cannot create spool folder {self.spool_dir}: {exc}", permanent=False) from exc

    def close(self) -> None:
        pass

    def send(self, msg: ClaimedMessage) -> str | None:
        self.open()
        mime = build_mime(msg, self.config.sender, msg.recipients or self.config.default_recipients)
        path = self.spool_dir / spool_name(msg)
        tmp = path.with_name("." + path.name + ".tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(mime.as_bytes())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            raise DeliveryError(f"cannot write {path}: {exc}", permanent=False, message_id=msg.message_id) from exc
        return None


def transport_for(config: MailConfig, policy: DeliveryPolicy):
    return SmtpTransport(config, policy) if config.host else SpoolTransport(config)
