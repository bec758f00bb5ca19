"""Time handling shared by the whole project.

* ``configure_astropy_offline()`` makes astropy use only bundled IERS tables
  (astropy-iers-data); it is called on import of this module, once.
* Public functions take and return astropy ``Time``; hot loops use float64
  arrays whose scale is in their name (``jd_utc1``/``jd_utc2`` two-part UTC
  Julian dates for SGP4, ``t_tdb_s`` seconds from a named TDB epoch).
* Leap seconds come from astropy (ERFA), never from a constant.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import numpy as np

from propagators.errors import NaiveDatetimeError

_configured = False


def configure_astropy_offline() -> None:
    """Never download: use the IERS-A table that ships in astropy-iers-data.

    Past the end of the bundled predictions (late 2027) astropy warns
    instead of failing (``iers_degraded_accuracy = "warn"``).
    """
    global _configured
    if _configured:
        return
    from astropy.utils import iers
    from astropy.utils.data import conf as data_conf

    iers.conf.auto_download = False
    iers.conf.auto_max_age = None
    iers.conf.iers_degraded_accuracy = "warn"
    data_conf.allow_internet = False
    iers.earth_orientation_table.set(iers.IERS_A.open(iers.IERS_A_FILE))
    _configured = True


configure_astropy_offline()

from astropy.time import Time  # noqa: E402  (after the offline set-up)

_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|[+-]00:?00|UTC)?$",
    re.IGNORECASE,
)


def parse_iso_utc(text: str) -> datetime:
    """Parse an ISO 8601 UTC time: ``2026-08-22T12:00:00.123Z``.

    Fractional seconds of any length and a trailing ``Z`` (or +00:00) are
    accepted; other offsets are refused because everything here is UTC.
    Returns an aware datetime in UTC (microsecond precision).
    """
    m = _ISO_RE.match(text.strip())
    if not m:
        raise ValueError(
            f"time {text!r} is not ISO 8601 UTC; expected YYYY-MM-DD[THH:MM[:SS[.fff]]][Z]"
        )
    y, mo, d, hh, mm, ss, frac, _tz = m.groups()
    micro = 0
    if frac:
        micro = int(round(float(frac) * 1e6))
    base = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0), tzinfo=timezone.utc)
    if micro:
        from datetime import timedelta

        base = base + timedelta(microseconds=micro)
    return base


def require_utc(value: datetime, name: str = "datetime") -> datetime:
    """Return ``value`` converted to UTC; refuse naive datetimes."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise NaiveDatetimeError(value)
    return value.astimezone(timezone.utc)


def iso_z(value: datetime) -> str:
    """``2026-08-22T12:00:00.123456Z`` for an aware datetime."""
    value = require_utc(value)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def to_time(value) -> Time:
    """Aware datetime, ISO string, list of them or an astropy Time -> Time (UTC)."""
    if isinstance(value, Time):
        return value
    if isinstance(value, str):
        value = parse_iso_utc(value)
    if isinstance(value, datetime):
        return Time(require_utc(value), scale="utc")
    seq = [require_utc(v) if isinstance(v, datetime) else parse_iso_utc(v) for v in value]
    return Time(seq, scale="utc")


def time_grid(start_utc: datetime, stop_utc: datetime, step_s: float) -> Time:
    """Epochs from start to stop inclusive (when stop falls on the grid), UTC."""
    start_utc = require_utc(start_utc)
    stop_utc = require_utc(stop_utc)
    if step_s <= 0:
        raise ValueError(f"step {step_s!r} s: expected a positive number of seconds")
    span_s = (stop_utc - start_utc).total_seconds()
    if span_s < 0:
        raise ValueError(f"stop {stop_utc.isoformat()} is before start {start_utc.isoformat()}")
    n = int(np.floor(span_s / step_s + 1e-9)) + 1
    offsets_s = np.arange(n, dtype=float) * step_s
    t0 = Time(start_utc, scale="utc")
    # Two-part JD arithmetic keeps sub-microsecond precision over the grid.
    return Time(t0.jd1, t0.jd2 + offsets_s / 86400.0, format="jd", scale="utc")


def jd_utc_parts(t: Time) -> tuple[np.ndarray, np.ndarray]:
    """Two-part UTC Julian date as float64 arrays (for SGP4)."""
    tu = t.utc
    return np.atleast_1d(np.asarray(tu.jd1, dtype=float)), np.atleast_1d(np.asarray(tu.jd2, dtype=float))


def datetimes_utc(t: Time) -> list[datetime]:
    """Aware UTC datetimes for an array Time (microsecond precision)."""
    dts = np.atleast_1d(t.utc.to_datetime())
    return [d.replace(tzinfo=timezone.utc) for d in dts]
