"""Service jobs of the alerting stage: outbox delivery, data-source fetches,
the dead-man's switch and the optional daily digest.

Importing this module adds ``register_jobs`` to ``monitor.service.EXTRA_JOBS``
(``build_scheduler`` imports it).  Like the service's other jobs they are
module-level functions whose arguments are ids (a source name), with
explicit job ids, ``coalesce=True`` and ``max_instances=1``.  A job never
lets a delivery or fetch failure escape: it is retried, recorded (outbox row,
``SourceStatus``) and logged, and the other jobs carry on.
"""

from __future__ import annotations

import logging

from alerts.engine import check_deadman, policy_for, write_digest
from alerts.outbox import deliver_due
from alerts.smtp import MailConfig, transport_for
from monitor import service
from monitor.sources import fetch_source, load_sources

log = logging.getLogger("cislunar.service")


def _ctx():
    ctx = service._CONTEXT
    settings = ctx["settings"]
    if "policy" not in ctx:
        ctx["policy"] = policy_for(settings)
    if "sources" not in ctx:
        ctx["sources"] = load_sources(settings.raw.get("sources", {}))
    return ctx


def outbox_job() -> dict:
    ctx = _ctx()
    policy = ctx["policy"]
    transport = transport_for(MailConfig.from_settings(ctx["settings"]), policy.delivery)
    with service.in_job("outbox"):
        counts = deliver_due(ctx["Session"], transport, policy.delivery, clock=service._now, stop=service.STOPPING.is_set)
        if counts:
            log.info("outbox via %s: %s", transport.describe(), " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return counts


def source_job(name: str) -> list:
    ctx = _ctx()
    src = ctx["sources"].by_name(name)
    with service.in_job(f"source:{name}"):
        return fetch_source(ctx["Session"], src, ctx["sources"], clock=service._now,
                            sleep=service.STOPPING.wait, stop=service.STOPPING.is_set)


def deadman_job() -> dict:
    ctx = _ctx()
    with service.in_job("deadman"):
        with ctx["Session"].begin() as session:
            found = check_deadman(session, ctx["policy"], service._now(), service_started_at=ctx.get("started_at"))
        if found.get("counts"):
            log.warning("dead-man's switch: %s", found)
    return found


def digest_job() -> None:
    ctx = _ctx()
    with service.in_job("digest"):
        with ctx["Session"].begin() as session:
            row = write_digest(session, ctx["policy"], service._now())
        if row is not None:
            log.info("digest queued as %s", row.message_id)


def register_jobs(sched, settings, common: dict) -> None:
    ctx = _ctx()
    policy, sources = ctx["policy"], ctx["sources"]
    now = service._now()
    sched.add_job(outbox_job, "interval", seconds=policy.delivery.poll_seconds, id="outbox",
                  misfire_grace_time=max(int(policy.delivery.poll_seconds), 30), next_run_time=now, **common)
    for src in sources.sources:
        interval_s = src.interval_minutes * 60.0
        # A late fetch is still useful, up to half an interval late.
        sched.add_job(source_job, "interval", seconds=interval_s, id=f"source:{src.name}", args=[src.name],
                      misfire_grace_time=max(int(interval_s / 2), 1), next_run_time=now, **common)
    if policy.deadman.enabled:
        sched.add_job(deadman_job, "interval", seconds=policy.deadman.check_minutes * 60.0, id="deadman",
                      misfire_grace_time=60, **common)
    if policy.digest.enabled:
        sched.add_job(digest_job, "cron", hour=policy.digest.hour_utc, minute=0, id="digest",
                      misfire_grace_time=6 * 3600, **common)


if register_jobs not in service.EXTRA_JOBS:
    service.EXTRA_JOBS.append(register_jobs)
