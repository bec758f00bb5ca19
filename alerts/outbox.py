"""Transactional outbox: alert mail is written as ``OutboxMessage`` rows in
the same transaction as the alert change, and delivered later by
``deliver_due``.

Delivery guarantees
-------------------
* **Nothing is lost.**  A row exists iff the alert change committed.  A
  sender claims a row (``pending -> sending``, ``attempts + 1``, with a
  lease) and commits *before* talking to the server; if it dies, the row is
  due again when the lease runs out.  On PostgreSQL the claim uses ``SELECT
  ... FOR UPDATE SKIP LOCKED``; on both backends it is a compare-and-set.
* **Nothing is sent twice, except in one window.**  Right after the server
  accepts a message (the end of the SMTP DATA transaction) the row is marked
  ``sent`` in its own short transaction.  If the process dies (or the
  database is unreachable) between the server's "250 OK" and that commit,
  the row is sent again after the lease runs out: the recipient then gets
  a second copy.  The same happens if the connection drops after the server
  accepted the data but before its reply arrived.  This window cannot be
  closed without the mail server's cooperation (SMTP has no idempotency
  key); to make such a copy recognisable, every header (Message-ID, Date,
  In-Reply-To) is a function of the row, so the copy is identical and mail
  systems that de-duplicate by Message-ID drop it.  The spool transport is
  idempotent (it rewrites the same file), so it has no such window.
* **Retries.**  Transient failures (connection refused, timeouts, 4xx) are
  retried with exponential backoff (``alerts.delivery.backoff_seconds``
  doubling up to ``backoff_max_seconds``); a permanent failure (5xx) or
  ``max_attempts`` failures dead-letter the row (status ``dead``, shown on
  the dashboard, requeued with ``cislunar outbox retry ID``).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy.orm import Session, sessionmaker

from alerts.email import ComposedMail
from alerts.errors import DeliveryError
from alerts.rules import DeliveryPolicy
from db import alert_ops
from db.models import OutboxMessage
from propagators.timeutil import require_utc

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def enqueue(
    session: Session,
    *,
    message_id: str,
    composed: ComposedMail,
    recipients: tuple[str, ...] | list[str],
    now: datetime,
    alert_id: int | None = None,
    in_reply_to: str | None = None,
) -> OutboxMessage:
    """Write one message in the caller's transaction (due at once)."""
    now = require_utc(now, "now")
    row = OutboxMessage(
        alert_id=alert_id,
        message_id=message_id,
        in_reply_to=in_reply_to,
        recipients=",".join(recipients),
        subject=composed.subject,
        body_text=composed.text,
        body_html=composed.html,
        attachment_png=composed.png,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    return row


def deliver_due(
    Session: sessionmaker,
    transport,
    policy: DeliveryPolicy,
    *,
    clock: Callable[[], datetime] = _utcnow,
    progress: Callable[[str], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> dict[str, int]:
    """Deliver every message due now; returns counts (sent, retry, dead, lost_claim).

    The number of claims is bounded by the rows due when the call starts,
    so a zero backoff cannot loop.  ``progress(message_id)`` is called
    after each attempt.  When ``stop()`` turns true (the service is
    stopping) the claimed messages not yet attempted are released at once.
    """
    counts: Counter[str] = Counter()
    with Session() as session:
        budget = alert_ops.due_outbox_count(session, clock())
    try:
        while budget > 0:
            with Session.begin() as session:
                claimed = alert_ops.claim_outbox(session, clock(), min(policy.batch_size, budget), policy.lease_seconds)
            if not claimed:
                break
            budget -= len(claimed)
            for i, msg in enumerate(claimed):
                if stop is not None and stop():
                    with Session.begin() as session:
                        for rest in claimed[i:]:
                            alert_ops.release_claim(session, rest.id, rest.attempt, clock())
                    counts["released"] += len(claimed) - i
                    budget = 0
                    break
                try:
                    note = transport.send(msg)
                except DeliveryError as exc:
                    _fail(Session, msg, exc, policy, clock, counts)
                    if progress:
                        progress(msg.message_id)
                    if not exc.permanent and exc.smtp_code is None:
                        # the server (or the spool folder) is unreachable: the
                        # rest of the batch would fail the same way
                        for rest in claimed[i + 1:]:
                            _fail(Session, rest, exc, policy, clock, counts)
                            if progress:
                                progress(rest.message_id)
                        budget = 0
                        break
                    continue
                with Session.begin() as session:
                    ok = alert_ops.mark_sent(session, msg.id, msg.attempt, clock(), note)
                if ok:
                    counts["sent"] += 1
                    log.info("outbox %d sent %s to %s (attempt %d)", msg.id, msg.message_id,
                             ",".join(msg.recipients) or "default recipients", msg.attempt)
                else:
                    counts["lost_claim"] += 1
                    log.warning("outbox %d (%s) was sent but its claim had expired; another attempt may send it again: "
                                "raise alerts.delivery.lease_seconds above the SMTP timeout", msg.id, msg.message_id)
                if progress:
                    progress(msg.message_id)
    finally:
        transport.close()
    return dict(counts)


def _fail(Session, msg, exc: DeliveryError, policy: DeliveryPolicy, clock, counts: Counter) -> None:
    now = clock()
    if exc.permanent or msg.attempt >= policy.max_attempts:
        retry_at = None
        error = str(exc) if exc.permanent else f"gave up after {msg.attempt} attempts; last: {exc}"
    else:
        retry_at = now + timedelta(seconds=policy.backoff_s(msg.attempt))
        error = f"attempt {msg.attempt}: {exc}"
    with Session.begin() as session:
        alert_ops.mark_failed(session, msg.id, msg.attempt, error, retry_at)
    if retry_at is None:
        counts["dead"] += 1
        log.error("outbox %d (%s) dead-lettered: %s", msg.id, msg.message_id, error)
    else:
        counts["retry"] += 1
        log.warning("outbox %d (%s) will be retried at %s: %s", msg.id, msg.message_id, retry_at.isoformat(), error)
