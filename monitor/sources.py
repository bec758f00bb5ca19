"""Scheduled element-set sources: CelesTrak GP and Space-Track.

Each fetch goes through the same ingest path as a dropped file
(``monitor.ingest.ingest_text``), in one transaction together with the
source's status row (``SourceStatus``: last attempt, success and error, the
HTTP cache validators, the newest epoch = data age) and a ``fetch`` run.
A failed fetch is retried with exponential backoff, then recorded in the
status row and logged; it never stops the service's other jobs.

The ``[sources]`` section
=========================

.. code-block:: toml

    [sources]
    timeout_seconds = 30          # per HTTP request
    retries = 3                   # further attempts after a failed one
    backoff_seconds = 5           # 5 s, 10 s, 20 s between attempts (Retry-After is honoured)
    user_agent = "cislunar-monitor (ops@example.org)"
    spacetrack_cache_dir = ""     # Space-Track predicate cache (default var/spacetrack-cache)

    [[sources.celestrak]]         # https://celestrak.org/NORAD/documentation/gp-data-formats.php
    name = "celestrak-geo"
    group = "geo"                 # a GP group, or:  catnr = [25544, 20580]
    format = "tle"                # tle | 3le | 2le | json | xml | kvn | csv
    interval_minutes = 120        # >= 120 against celestrak.org: its GP data changes every 2 h
    base_url = "https://celestrak.org"

    [[sources.spacetrack]]        # credentials: $CISLUNAR_SPACETRACK_IDENTITY, $CISLUNAR_SPACETRACK_PASSWORD
    name = "spacetrack-watch"
    query = "gp"                  # gp | gp_history
    norad_ids = [25544, 43013]    # gp without ids: the catalogue with an epoch in the last epoch_days
    format = "json"               # json | xml | csv | tle | 3le | kvn
    interval_minutes = 60         # >= 60 against space-track.org (its API use policy)
    epoch_days = 30               # gp: catalogue window; gp_history: first fetch (later: only newer epochs)
    base_url = "https://www.space-track.org/"

CelesTrak asks clients not to download data that has not changed: requests
carry ``If-None-Match``/``If-Modified-Since`` from the last successful
download, a ``304`` (or CelesTrak's 403 "has not updated" reply) counts as a
success with nothing new.  Space-Track publishes limits of fewer than 30
requests per minute and 300 per hour: the ``spacetrack`` client enforces
both, and every client in the process shares one quota store; on top of
that, the intervals above are enforced at start-up for the public hosts.
"""

from __future__ import annotations

import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from sqlalchemy.orm import sessionmaker

from db import alert_ops, queries
from db.models import SourceStatus
from propagators.errors import CislunarError, ConfigError

log = logging.getLogger("cislunar.sources")

REPO_ROOT = Path(__file__).resolve().parent.parent
CELESTRAK_URL = "https://celestrak.org"
SPACETRACK_URL = "https://www.space-track.org/"
CELESTRAK_FORMATS = ("tle", "3le", "2le", "json", "xml", "kvn", "csv")
SPACETRACK_FORMATS = ("json", "xml", "csv", "tle", "3le", "kvn")
SPACETRACK_QUERIES = ("gp", "gp_history")
CELESTRAK_MIN_INTERVAL_MIN = 120.0
SPACETRACK_MIN_INTERVAL_MIN = 60.0
IDENTITY_ENV = "CISLUNAR_SPACETRACK_IDENTITY"
PASSWORD_ENV = "CISLUNAR_SPACETRACK_PASSWORD"
MAX_RETRY_AFTER_S = 300.0

# One quota store for every Space-Track client of the process, so the
# 30/min and 300/h limits hold across jobs and fetches.
_RUSH_STORE = None


def _rush_store():
    global _RUSH_STORE
    if _RUSH_STORE is None:
        from rush.stores.dictionary import DictionaryStore

        _RUSH_STORE = DictionaryStore()
    return _RUSH_STORE


class SourceFetchError(CislunarError):
    """A fetch failed (after its retries when ``transient``)."""

    def __init__(self, source: str, url: str, message: str, *, transient: bool, http_status: int | None = None, attempts: int = 1) -> None:
        self.source = source
        self.url = url
        self.reason = message
        self.transient = transient
        self.http_status = http_status
        self.attempts = attempts
        status = f" (HTTP {http_status})" if http_status else ""
        super().__init__(f"source {source}: {url}{status}: {message}" + (f" after {attempts} attempts" if attempts > 1 else ""))


# ---------------------------------------------------------------- configuration

@dataclass(frozen=True)
class Request:
    """One HTTP resource of a source, with its own status row."""

    status_name: str
    url: str
    hint: str
    catnr: int | None = None


@dataclass(frozen=True)
class CelestrakSource:
    name: str
    format: str
    interval_minutes: float
    base_url: str = CELESTRAK_URL
    group: str | None = None
    catnr: tuple[int, ...] = ()
    kind: str = "celestrak"

    def requests(self) -> list[Request]:
        base = f"{self.base_url.rstrip('/')}/NORAD/elements/gp.php"
        hint = f"gp.{'tle' if self.format in ('tle', '3le', '2le') else self.format}"
        if self.group is not None:
            q = urllib.parse.urlencode({"GROUP": self.group, "FORMAT": self.format.upper()})
            return [Request(self.name, f"{base}?{q}", hint)]
        return [
            Request(f"{self.name}/{n}", f"{base}?{urllib.parse.urlencode({'CATNR': n, 'FORMAT': self.format.upper()})}", hint, n)
            for n in self.catnr
        ]


@dataclass(frozen=True)
class SpaceTrackSource:
    name: str
    query: str
    format: str
    interval_minutes: float
    norad_ids: tuple[int, ...] = ()
    epoch_days: float = 30.0
    base_url: str = SPACETRACK_URL
    kind: str = "spacetrack"

    def predicates(self, since_epoch: datetime | None = None) -> dict[str, Any]:
        """The keyword arguments of the ``spacetrack`` request (its API
        use policy: ids in one comma list, an epoch window, ordered)."""
        from spacetrack import operators as op

        kw: dict[str, Any] = {"format": self.format}
        if self.query == "gp":
            if self.norad_ids:
                kw["norad_cat_id"] = list(self.norad_ids)
            else:
                kw["decay_date"] = None  # null-val: objects still in orbit
                kw["epoch"] = f">now-{self.epoch_days:g}"
            kw["orderby"] = "norad_cat_id"
        else:
            kw["norad_cat_id"] = list(self.norad_ids)
            kw["epoch"] = op.greater_than(since_epoch) if since_epoch is not None else f">now-{self.epoch_days:g}"
            kw["orderby"] = "epoch"
        return kw


@dataclass(frozen=True)
class SourcesConfig:
    sources: tuple[Any, ...] = ()
    timeout_s: float = 30.0
    retries: int = 3
    backoff_s: float = 5.0
    user_agent: str = "cislunar-monitor/0.1"
    spacetrack_cache_dir: Path = field(default_factory=lambda: REPO_ROOT / "var" / "spacetrack-cache")

    def by_name(self, name: str):
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(name)


def _num(raw: dict, key: str, prefix: str, default: float, minimum: float | None = None) -> float:
    v = raw.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
        raise ConfigError(f"{prefix}.{key}", v, "a number >= 0")
    if minimum is not None and v < minimum:
        raise ConfigError(f"{prefix}.{key}", v, f"a number >= {minimum:g}")
    return float(v)


def _ids(v: Any, key: str) -> tuple[int, ...]:
    if isinstance(v, int) and not isinstance(v, bool):
        v = [v]
    if not isinstance(v, list) or not v or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in v):
        raise ConfigError(key, v, "a list of catalogue numbers (positive integers)")
    return tuple(v)


def _url(v: Any, key: str) -> str:
    if not isinstance(v, str) or urllib.parse.urlparse(v).scheme not in ("http", "https") or not urllib.parse.urlparse(v).netloc:
        raise ConfigError(key, v, "an http(s) URL")
    return v


def _is_host(url: str, domain: str) -> bool:
    host = urllib.parse.urlparse(url).hostname or ""
    return host == domain or host.endswith("." + domain)


def _check(raw: dict, allowed: tuple[str, ...], prefix: str) -> None:
    for k in raw:
        if k not in allowed:
            raise ConfigError(f"{prefix}.{k}", raw[k], "one of the keys " + ", ".join(allowed))


def load_sources(raw: dict | None, environ: dict | None = None) -> SourcesConfig:
    """Validate ``[sources]`` (``settings.raw.get("sources", {})``); raises
    ``ConfigError`` naming the key."""
    raw = raw or {}
    env = os.environ if environ is None else environ
    if not isinstance(raw, dict):
        raise ConfigError("sources", raw, "a table")
    _check(raw, ("timeout_seconds", "retries", "backoff_seconds", "user_agent", "spacetrack_cache_dir", "celestrak", "spacetrack"), "sources")
    retries = raw.get("retries", 3)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        raise ConfigError("sources.retries", retries, "an integer from 0 to 10")
    ua = raw.get("user_agent", "cislunar-monitor/0.1")
    if not isinstance(ua, str) or not ua.strip():
        raise ConfigError("sources.user_agent", ua, "a non-empty string")
    cache = raw.get("spacetrack_cache_dir") or str(REPO_ROOT / "var" / "spacetrack-cache")
    if not isinstance(cache, str):
        raise ConfigError("sources.spacetrack_cache_dir", cache, "a folder path")
    names: set[str] = set()
    out: list[Any] = []

    def name_of(item: dict, prefix: str, default: str) -> str:
        n = item.get("name", default)
        if not isinstance(n, str) or not n.strip() or "/" in n:
            raise ConfigError(f"{prefix}.name", n, "a non-empty name without '/'")
        if n in names:
            raise ConfigError(f"{prefix}.name", n, "a name no other source uses")
        names.add(n)
        return n

    items = raw.get("celestrak", [])
    if not isinstance(items, list):
        raise ConfigError("sources.celestrak", items, "an array of tables ([[sources.celestrak]])")
    for i, item in enumerate(items):
        p = f"sources.celestrak[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(p, item, "a table")
        _check(item, ("name", "group", "catnr", "format", "interval_minutes", "base_url"), p)
        if ("group" in item) == ("catnr" in item):
            raise ConfigError(f"{p}.group", item.get("group"), "either group or catnr (not both)")
        group = item.get("group")
        if group is not None and (not isinstance(group, str) or not group.strip()):
            raise ConfigError(f"{p}.group", group, "a CelesTrak GP group name such as geo or stations")
        fmt = item.get("format", "tle")
        if fmt not in CELESTRAK_FORMATS:
            raise ConfigError(f"{p}.format", fmt, "one of " + ", ".join(CELESTRAK_FORMATS))
        base = _url(item.get("base_url", CELESTRAK_URL), f"{p}.base_url")
        minimum = CELESTRAK_MIN_INTERVAL_MIN if _is_host(base, "celestrak.org") or _is_host(base, "celestrak.com") else None
        out.append(
            CelestrakSource(
                name=name_of(item, p, f"celestrak-{group or i}"),
                format=fmt,
                interval_minutes=_num(item, "interval_minutes", p, 120.0, minimum),
                base_url=base,
                group=group.strip() if group else None,
                catnr=_ids(item["catnr"], f"{p}.catnr") if "catnr" in item else (),
            )
        )

    items = raw.get("spacetrack", [])
    if not isinstance(items, list):
        raise ConfigError("sources.spacetrack", items, "an array of tables ([[sources.spacetrack]])")
    for i, item in enumerate(items):
        p = f"sources.spacetrack[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(p, item, "a table")
        _check(item, ("name", "query", "norad_ids", "format", "interval_minutes", "epoch_days", "base_url"), p)
        query = item.get("query", "gp")
        if query not in SPACETRACK_QUERIES:
            raise ConfigError(f"{p}.query", query, "one of " + ", ".join(SPACETRACK_QUERIES))
        fmt = item.get("format", "json")
        if fmt not in SPACETRACK_FORMATS:
            raise ConfigError(f"{p}.format", fmt, "one of " + ", ".join(SPACETRACK_FORMATS))
        if query == "gp_history" and "norad_ids" not in item:
            raise ConfigError(f"{p}.norad_ids", None, "the catalogue numbers whose history to fetch (gp_history over the whole catalogue is not allowed)")
        base = _url(item.get("base_url", SPACETRACK_URL), f"{p}.base_url")
        minimum = SPACETRACK_MIN_INTERVAL_MIN if _is_host(base, "space-track.org") else None
        out.append(
            SpaceTrackSource(
                name=name_of(item, p, f"spacetrack-{i}"),
                query=query,
                format=fmt,
                interval_minutes=_num(item, "interval_minutes", p, 60.0, minimum),
                norad_ids=_ids(item["norad_ids"], f"{p}.norad_ids") if "norad_ids" in item else (),
                epoch_days=_num(item, "epoch_days", p, 30.0),
                base_url=base if base.endswith("/") else base + "/",
            )
        )
        for var in (IDENTITY_ENV, PASSWORD_ENV):
            if not env.get(var):
                raise ConfigError(var, None, f"Space-Track credentials in the environment for source {out[-1].name!r} "
                                             f"(export {IDENTITY_ENV} and {PASSWORD_ENV})")
    return SourcesConfig(
        sources=tuple(out),
        timeout_s=_num(raw, "timeout_seconds", "sources", 30.0),
        retries=retries,
        backoff_s=_num(raw, "backoff_seconds", "sources", 5.0),
        user_agent=ua.strip(),
        spacetrack_cache_dir=Path(cache).expanduser(),
    )


# ---------------------------------------------------------------- HTTP

@dataclass
class Download:
    status: str  # "new" | "not-modified"
    http_status: int
    text: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    attempts: int = 1


class _Transient(Exception):
    def __init__(self, message: str, http_status: int | None = None, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.retry_after_s = retry_after_s


def _retry_after(headers) -> float | None:
    v = headers.get("Retry-After") if headers is not None else None
    if v is None:
        return None
    try:
        return min(float(v), MAX_RETRY_AFTER_S)
    except ValueError:
        return None


def with_retries(fn: Callable[[], Any], *, source: str, url: str, retries: int, backoff_s: float,
                 sleep: Callable[[float], Any] = time.sleep, stop: Callable[[], bool] | None = None) -> tuple[Any, int]:
    """Call ``fn`` until it succeeds, up to ``retries`` more times after a
    transient failure, sleeping ``backoff_s * 2**k`` (or the server's
    Retry-After) in between.  ``stop()`` true (the service is stopping)
    ends the retries at once.  Returns (result, attempts)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn(), attempt
        except _Transient as exc:
            if attempt > retries or (stop is not None and stop()):
                raise SourceFetchError(source, url, str(exc), transient=True, http_status=exc.http_status, attempts=attempt) from None
            delay = max(backoff_s * 2 ** (attempt - 1), exc.retry_after_s or 0.0)
            log.warning("source %s: attempt %d failed (%s); retrying in %.1f s", source, attempt, exc, delay)
            sleep(delay)
            if stop is not None and stop():
                raise SourceFetchError(source, url, f"{exc}; not retried: the service is stopping", transient=True,
                                       http_status=exc.http_status, attempts=attempt) from None


def http_get(req: Request, source: str, *, etag: str | None, last_modified: str | None, timeout_s: float, user_agent: str) -> Download:
    """One conditional GET.  Raises _Transient (retry) or SourceFetchError."""
    headers = {"User-Agent": user_agent, "Accept": "*/*"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    r = urllib.request.Request(req.url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(r, timeout=timeout_s) as resp:
            body = resp.read()
            charset = resp.headers.get_content_charset() or "utf-8"
            return Download("new", resp.status, body.decode(charset, errors="replace"),
                            resp.headers.get("ETag"), resp.headers.get("Last-Modified"))
    except urllib.error.HTTPError as exc:
        with exc:
            code = exc.code
            body = exc.read().decode("utf-8", errors="replace")[:500]
            if code == 304:
                return Download("not-modified", 304, None, exc.headers.get("ETag") or etag, exc.headers.get("Last-Modified") or last_modified)
            if code == 403 and "has not updated" in body.lower():
                # CelesTrak: "GP data has not updated since your last successful download"
                return Download("not-modified", 403, None, etag, last_modified)
            if code == 429 or code >= 500:
                raise _Transient(f"HTTP {code}: {body.strip()[:200]}", code, _retry_after(exc.headers)) from None
            raise SourceFetchError(source, req.url, f"HTTP {code}: {body.strip()[:200]}", transient=False, http_status=code) from None
    except (TimeoutError, ConnectionError, urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Transient(f"{type(reason).__name__}: {reason}") from None


# ---------------------------------------------------------------- Space-Track

def spacetrack_client(src: SpaceTrackSource, cfg: SourcesConfig, environ: dict | None = None):
    """A ``spacetrack.SpaceTrackClient`` for ``src`` (close it after use)."""
    import httpx2
    from spacetrack import SpaceTrackClient

    env = os.environ if environ is None else environ
    identity, password = env.get(IDENTITY_ENV), env.get(PASSWORD_ENV)
    if not identity or not password:
        raise SourceFetchError(src.name, src.base_url, f"no Space-Track credentials: export {IDENTITY_ENV} and {PASSWORD_ENV}", transient=False)
    http = httpx2.Client(timeout=cfg.timeout_s, headers={"User-Agent": cfg.user_agent})
    return SpaceTrackClient(identity, password, base_url=src.base_url, rush_store=_rush_store(), httpx_client=http,
                            cache_path=cfg.spacetrack_cache_dir)


def spacetrack_get(src: SpaceTrackSource, cfg: SourcesConfig, since_epoch: datetime | None, client_factory=None) -> Download:
    import httpx2
    from spacetrack import AuthenticationError

    client = (client_factory or spacetrack_client)(src, cfg)
    kwargs = src.predicates(since_epoch)
    try:
        with client:
            text = client.generic_request(src.query, controller="basicspacedata", **kwargs)
    except AuthenticationError:
        raise SourceFetchError(src.name, src.base_url, "Space-Track refused the login (check the credentials)", transient=False) from None
    except httpx2.HTTPStatusError as exc:
        code = exc.response.status_code
        msg = f"HTTP {code}: {str(exc).splitlines()[0]}"
        if code == 429 or code >= 500:
            raise _Transient(msg, code, _retry_after(exc.response.headers)) from None
        raise SourceFetchError(src.name, src.base_url, msg, transient=False, http_status=code) from None
    except httpx2.TransportError as exc:
        raise _Transient(f"{type(exc).__name__}: {exc}") from None
    return Download("new", 200, text)


# ---------------------------------------------------------------- one fetch

@dataclass
class FetchReport:
    source: str
    status_name: str
    url: str
    status: str  # new | not-modified | error
    http_status: int | None = None
    records: int = 0
    new: int = 0
    duplicates: int = 0
    rejected: int = 0
    attempts: int = 0
    run_id: int | None = None
    error: str | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _newest_epoch(text: str, source: str, hint: str) -> datetime | None:
    """The newest epoch in a response, stored or already known (duplicates
    count: the data age is about what the source serves)."""
    from propagators.parsing.detect import parse_element_text

    try:
        result = parse_element_text(text, source=source, hint=hint)
    except CislunarError:
        return None
    epochs = [r.epoch_utc for r in result.records if getattr(r, "epoch_utc", None) is not None]
    return max(epochs) if epochs else None


def fetch_source(
    Session: sessionmaker,
    src,
    cfg: SourcesConfig,
    *,
    clock: Callable[[], datetime] = _utcnow,
    sleep: Callable[[float], Any] = time.sleep,
    stop: Callable[[], bool] | None = None,
    spacetrack_factory=None,
) -> list[FetchReport]:
    """Fetch every request of one source; never raises for a fetch failure
    (it is retried, then recorded in the status row and returned)."""
    from monitor.ingest import ingest_text

    reports: list[FetchReport] = []
    if isinstance(src, CelestrakSource):
        reqs = src.requests()
    else:
        hint = f"gp.{'tle' if src.format in ('tle', '3le') else src.format}"
        reqs = [Request(src.name, f"{src.base_url}basicspacedata/query/class/{src.query}", hint)]
    for req in reqs:
        if stop is not None and stop():
            break
        with Session() as session:
            st = session.get(SourceStatus, req.status_name)
            etag, last_mod = (st.etag, st.last_modified) if st else (None, None)
            newest = st.newest_epoch_utc if st else None
        rep = FetchReport(source=src.name, status_name=req.status_name, url=req.url, status="error")
        try:
            if isinstance(src, CelestrakSource):
                dl, attempts = with_retries(
                    lambda: http_get(req, src.name, etag=etag, last_modified=last_mod, timeout_s=cfg.timeout_s, user_agent=cfg.user_agent),
                    source=src.name, url=req.url, retries=cfg.retries, backoff_s=cfg.backoff_s, sleep=sleep, stop=stop,
                )
            else:
                since = newest if src.query == "gp_history" else None
                dl, attempts = with_retries(
                    lambda: spacetrack_get(src, cfg, since, spacetrack_factory),
                    source=src.name, url=req.url, retries=cfg.retries, backoff_s=cfg.backoff_s, sleep=sleep, stop=stop,
                )
        except SourceFetchError as exc:
            rep.error, rep.http_status, rep.attempts = str(exc), exc.http_status, exc.attempts
            now = clock()
            with Session.begin() as session:
                run = queries.start_run(session, "fetch")
                queries.finish_run(session, run, "failed", error=str(exc), details=rep.as_dict())
                rep.run_id = run.id
                row = alert_ops.get_source_status(session, req.status_name)
                row.last_attempt_at = now
                row.last_error_at = now
                row.last_error = str(exc)
            log.error("fetch source=%s run=%d failed: %s", req.status_name, rep.run_id, exc)
            reports.append(rep)
            continue
        rep.attempts, rep.http_status, rep.status = attempts, dl.http_status, dl.status
        now = clock()
        with Session.begin() as session:
            run = queries.start_run(session, "fetch")
            rep.run_id = run.id
            row = alert_ops.get_source_status(session, req.status_name)
            row.last_attempt_at = now
            if dl.status == "not-modified":
                row.last_success_at = now
                row.records_last = 0
                queries.finish_run(session, run, "ok", details=rep.as_dict())
            else:
                fr = ingest_text(session, dl.text or "", req.url, hint=req.hint)
                rep.records, rep.new, rep.duplicates, rep.rejected = fr.records, fr.new, fr.duplicates, len(fr.rejections)
                if fr.rejections:
                    queries.record_rejections(session, run.id, fr.rejections)
                if fr.error:
                    rep.status = "error"
                    rep.error = f"source {src.name}: {req.url}: unreadable response: {fr.error}"
                    row.last_error_at = now
                    row.last_error = rep.error
                    queries.finish_run(session, run, "failed", error=rep.error, details=rep.as_dict())
                else:
                    session.flush()
                    row.last_success_at = now
                    row.records_last = fr.records
                    row.etag, row.last_modified = dl.etag, dl.last_modified
                    newest_here = _newest_epoch(dl.text or "", req.url, req.hint) if fr.records else None
                    if newest_here is not None and (row.newest_epoch_utc is None or newest_here > row.newest_epoch_utc):
                        row.newest_epoch_utc = newest_here
                    queries.finish_run(session, run, "partial" if fr.rejections else "ok", details=rep.as_dict())
                    run.n_objects = fr.new
                    run.n_errors = len(fr.rejections)
        if rep.status == "error":
            log.error("fetch source=%s run=%d: %s", req.status_name, rep.run_id, rep.error)
        else:
            log.info("fetch source=%s run=%d %s http=%s records=%d new=%d duplicates=%d rejected=%d attempts=%d",
                     req.status_name, rep.run_id, rep.status, rep.http_status, rep.records, rep.new, rep.duplicates, rep.rejected, rep.attempts)
        reports.append(rep)
    return reports
