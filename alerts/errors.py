"""Exceptions raised at the alerting boundaries (rule files, delivery).

Invalid alert rules raise ``propagators.errors.ConfigError`` (the key, the
value received and what was expected), the same exception the rest of the
configuration raises, so ``cislunar run`` refuses to start with one message
format.  Delivery failures carry what the outbox needs to decide between a
retry and a dead letter.
"""

from __future__ import annotations

from propagators.errors import CislunarError


class AlertError(CislunarError):
    """Base of the alerting package's errors."""


class DeliveryError(AlertError):
    """One message could not be handed to the mail server.

    ``permanent`` is True when retrying cannot help (an SMTP 5xx reply, no
    recipients, an unusable address); the outbox then dead-letters the
    message.  Otherwise (connection refused, timeout, 4xx) it is retried
    with backoff.  ``smtp_code`` is the server's reply code when there was
    one.
    """

    def __init__(self, message: str, *, permanent: bool, smtp_code: int | None = None, message_id: str | None = None) -> None:
        self.permanent = permanent
        self.smtp_code = smtp_code
        self.message_id = message_id
        prefix = f"{message_id}: " if message_id else ""
        code = f" (SMTP {smtp_code})" if smtp_code is not None else ""
        kind = "permanent" if permanent else "transient"
        super().__init__(f"{prefix}{kind} delivery failure{code}: {message}")
