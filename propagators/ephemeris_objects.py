"""Objects known only as a table of states (an OEM segment, a Horizons table).

Such an object is evaluated by interpolation of the kind and degree the
table declares (CCSDS 502.0-B-2 section 5.2.4: INTERPOLATION, DEGREE):

* ``LAGRANGE`` of degree N: positions and velocities each interpolated by
  the Lagrange polynomial through the N + 1 samples nearest the epoch;
* ``HERMITE`` of degree N: positions by the Hermite polynomial through
  (N + 1) / 2 samples matching positions and velocities, velocities by its
  derivative.

Defaults when the table says nothing: Lagrange, degree 7 (8 samples).
Interpolation happens on TDB seconds (uniform time) and only inside the
usable span (USEABLE_START/STOP_TIME when given, else the first and last
samples, both included).  Outside it a polynomial is **never** extrapolated:
``states`` returns status ``STATUS_BEFORE_SPAN`` / ``STATUS_AFTER_SPAN`` with
NaN rows (messages in ``EPHEMERIS_STATUS``), or raises
``EphemerisRangeError`` when asked to.  ``last_state()`` gives the geocentric
GCRS state at the end of the span, from which a numerical propagator can
continue.

States are returned geocentric with ICRF axes (GCRS in this project): a
Moon- or barycentre-centred table is moved to the geocentre with the DE421
Moon or Earth-Moon barycentre read at TDB; EME2000 axes are rotated by the
IAU 2000 frame bias; TEME and TOD (true of date) through astropy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from propagators import timeutil  # noqa: F401  (offline IERS set-up first)
from astropy.time import Time, TimeDelta

from propagators.ephemeris import SECONDS_PER_DAY, de421
from propagators.errors import EphemerisRangeError, RecordError
from propagators.frames_cislunar import eme2000_to_gcrs_matrix

STATUS_OK = 0
STATUS_BEFORE_SPAN = 1
STATUS_AFTER_SPAN = 2
STATUS_BAD_EPOCH = 3
#: Status code -> message, as ``sgp4.api.SGP4_ERRORS``.
EPHEMERIS_STATUS = {
    STATUS_OK: "ok",
    STATUS_BEFORE_SPAN: "epoch before the table's usable span: the table is not extrapolated",
    STATUS_AFTER_SPAN: "epoch after the table's usable span: the table is not extrapolated; continue from last_state() with a propagator",
    STATUS_BAD_EPOCH: "epoch is not a finite time",
}

DEFAULT_INTERPOLATION = "LAGRANGE"
DEFAULT_DEGREE = 7
SUPPORTED_INTERPOLATION = ("LAGRANGE", "HERMITE")

# Canonical centre names -> DE421 body names.
_CENTERS = {
    "EARTH": "earth",
    "MOON": "moon",
    "EARTH-MOON BARYCENTER": "emb",
    "EARTH MOON BARYCENTER": "emb",
    "EARTH-MOON BARYCENTRE": "emb",
    "EARTH BARYCENTER": "emb",
    "EMB": "emb",
    "SUN": "sun",
    "SOLAR SYSTEM BARYCENTER": "ssb",
    "SSB": "ssb",
}
_INERTIAL_ICRF = ("ICRF", "GCRF", "ICRF2", "ICRF3", "GCRS", "J2000_ICRF")
_EME2000 = ("EME2000", "J2000")
_EARTH_ONLY = ("TEME", "TOD")
_SPAN_SLACK_S = 1e-6  # an epoch within 1 microsecond of the span edge is inside


def canonical_center(center: str) -> str:
    """'Earth', 'EARTH-MOON BARYCENTER', 'emb' ... -> the DE421 body name."""
    key = " ".join(center.strip().upper().split())
    if key not in _CENTERS:
        raise RecordError(
            "centre not supported for conversion to GCRS",
            field="CENTER_NAME",
            value=center,
            expected="EARTH, MOON, EARTH-MOON BARYCENTER, SUN or SOLAR SYSTEM BARYCENTER",
        )
    return _CENTERS[key]


def _check_frame(frame: str, body: str) -> str:
    f = frame.strip().upper()
    if f in _INERTIAL_ICRF or f in _EME2000:
        return f
    if f in _EARTH_ONLY and body == "earth":
        return f
    raise RecordError(
        "reference frame not supported for conversion to GCRS",
        field="REF_FRAME",
        value=frame,
        expected="ICRF, GCRF or EME2000 (any centre); TEME or TOD (centre EARTH)",
    )


def state_to_gcrs(r_km, v_km_s, t: Time, center: str, frame: str):
    """States relative to ``center`` on ``frame`` axes -> geocentric GCRS.

    ``r_km``/``v_km_s`` are (3,) for a scalar ``t`` or (n, 3) for n epochs.
    """
    body = canonical_center(center)
    f = _check_frame(frame, body)
    r = np.asarray(r_km, dtype=float)
    v = np.asarray(v_km_s, dtype=float)
    if f in _EME2000:
        m = eme2000_to_gcrs_matrix()
        r, v = r @ m.T, v @ m.T
    elif f == "TEME":
        from propagators.frames import teme_to_gcrs

        r, v = teme_to_gcrs(np.atleast_2d(r), np.atleast_2d(v), Time(np.atleast_1d(t.jd1), np.atleast_1d(t.jd2), format="jd", scale=t.scale))
        r, v = (r[0], v[0]) if np.ndim(t.jd1) == 0 else (r, v)
    elif f == "TOD":
        m = _tod_to_gcrs_matrix(t)
        r, v = np.einsum("...ij,...j->...i", m, r), np.einsum("...ij,...j->...i", m, v)
    if body != "earth":
        tdb = t.tdb
        rc, vc = de421().state(body, "earth", tdb.jd1, tdb.jd2)
        r, v = r + rc, v + vc
    return r, v


def _tod_to_gcrs_matrix(t: Time) -> np.ndarray:
    """True-of-date (astropy TETE) -> GCRS rotation per epoch; the rate of
    precession-nutation is neglected for velocities (< 1e-9 km/s), as
    ``frames.teme_to_gcrs`` does."""
    from astropy.coordinates import GCRS, TETE, CartesianRepresentation

    scalar = np.ndim(t.jd1) == 0
    tt = Time(np.atleast_1d(t.jd1), np.atleast_1d(t.jd2), format="jd", scale=t.scale)
    n = len(tt)
    times = Time(np.broadcast_to(tt.jd1, (3, n)), np.broadcast_to(tt.jd2, (3, n)), format="jd", scale=tt.scale)
    eye = np.broadcast_to(np.eye(3)[:, :, None], (3, 3, n))
    rep = CartesianRepresentation(eye[0], eye[1], eye[2], unit="km")
    out = TETE(rep, obstime=times).transform_to(GCRS(obstime=times)).cartesian
    cols = np.stack([out.x.to_value("km"), out.y.to_value("km"), out.z.to_value("km")])
    m = np.transpose(cols, (2, 0, 1))
    return m[0] if scalar else m


# --------------------------------------------------------------------------
# Interpolation kernels (vectorised over query epochs)
# --------------------------------------------------------------------------


def _windows(t_nodes: np.ndarray, t_query: np.ndarray, n_pts: int) -> np.ndarray:
    """Index of the first node of the n_pts-node window centred on each query."""
    i = np.searchsorted(t_nodes, t_query, side="right") - 1
    start = i - (n_pts // 2 - 1) if n_pts % 2 == 0 else i - n_pts // 2
    return np.clip(start, 0, t_nodes.size - n_pts)


def _lagrange_basis(x_nodes: np.ndarray, x: np.ndarray, derivative: bool = True):
    """Lagrange basis L_j(x) and L_j'(x) (None unless ``derivative``): (m, n)
    each, for (m, n) nodes and (m,) query abscissae."""
    m, n = x_nodes.shape
    diff = x[:, None] - x_nodes  # (m, n)
    L = np.ones((m, n))
    dL = np.zeros((m, n)) if derivative else None
    for j in range(n):
        for k in range(n):
            if k == j:
                continue
            denom = x_nodes[:, j] - x_nodes[:, k]
            L[:, j] *= diff[:, k] / denom
            if not derivative:
                continue
            term = 1.0 / denom
            for l in range(n):
                if l != j and l != k:
                    term = term * diff[:, l] / (x_nodes[:, j] - x_nodes[:, l])
            dL[:, j] += term
    return L, dL


def lagrange(t_nodes: np.ndarray, y_nodes: np.ndarray, t_query: np.ndarray, degree: int) -> np.ndarray:
    """Lagrange interpolation of (N, k) samples at (m,) epochs (no range check)."""
    n_pts = min(degree + 1, t_nodes.size)
    start = _windows(t_nodes, t_query, n_pts)
    idx = start[:, None] + np.arange(n_pts)
    centre = t_nodes[idx].mean(axis=1)
    scale = max(float(np.median(np.diff(t_nodes))), 1e-300) if t_nodes.size > 1 else 1.0
    x_nodes = (t_nodes[idx] - centre[:, None]) / scale
    x = (t_query - centre) / scale
    L, _ = _lagrange_basis(x_nodes, x, derivative=False)
    return np.einsum("mj,mjk->mk", L, y_nodes[idx])


def hermite(t_nodes, r_nodes, v_nodes, t_query, degree: int):
    """Hermite interpolation through (degree + 1) // 2 nodes matching r and v.

    Returns (r, v) at the query epochs; v is the polynomial's derivative.
    """
    n_pts = min(max((degree + 1) // 2, 2), t_nodes.size)
    start = _windows(t_nodes, t_query, n_pts)
    idx = start[:, None] + np.arange(n_pts)
    centre = t_nodes[idx].mean(axis=1)
    scale = max(float(np.median(np.diff(t_nodes))), 1e-300)
    x_nodes = (t_nodes[idx] - centre[:, None]) / scale
    x = (t_query - centre) / scale
    L, dL = _lagrange_basis(x_nodes, x)
    # L_j'(x_j) = sum_{k != j} 1 / (x_j - x_k)
    dLj = np.zeros_like(x_nodes)
    for j in range(n_pts):
        for k in range(n_pts):
            if k != j:
                dLj[:, j] += 1.0 / (x_nodes[:, j] - x_nodes[:, k])
    dx = x[:, None] - x_nodes
    H = (1.0 - 2.0 * dx * dLj) * L**2
    K = dx * L**2
    dH = -2.0 * dLj * L**2 + (1.0 - 2.0 * dx * dLj) * 2.0 * L * dL
    dK = L**2 + dx * 2.0 * L * dL
    yr = r_nodes[idx]
    yv = v_nodes[idx] * scale  # dy/dx = dy/dt * scale
    r = np.einsum("mj,mjk->mk", H, yr) + np.einsum("mj,mjk->mk", K, yv)
    v = (np.einsum("mj,mjk->mk", dH, yr) + np.einsum("mj,mjk->mk", dK, yv)) / scale
    return r, v


# --------------------------------------------------------------------------
# The object
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TableState:
    """One state of a table object, geocentric GCRS (ICRF axes)."""

    epoch: Time  # TDB
    r_gcrs_km: np.ndarray  # (3,)
    v_gcrs_km_s: np.ndarray  # (3,)


@dataclass(frozen=True)
class EphemerisObject:
    """An object given as a table of states, evaluated by interpolation."""

    name: str
    object_id: Optional[str]
    center: str  # as given (EARTH, MOON, EARTH-MOON BARYCENTER ...)
    frame: str  # as given (ICRF, GCRF, EME2000 ...)
    epoch0_tdb: Time  # origin of t_tdb_s (the first sample)
    t_tdb_s: np.ndarray  # (N,) seconds of TDB from epoch0_tdb, increasing
    r_km: np.ndarray  # (N, 3) relative to center, on frame axes
    v_km_s: np.ndarray  # (N, 3)
    interpolation: str = DEFAULT_INTERPOLATION
    degree: int = DEFAULT_DEGREE
    span_start_tdb_s: float = 0.0
    span_stop_tdb_s: float = 0.0
    source: Optional[str] = None

    # ---- construction
    @classmethod
    def from_states(
        cls,
        epochs: Time,
        r_km,
        v_km_s,
        *,
        center: str,
        frame: str,
        name: str,
        object_id: Optional[str] = None,
        interpolation: Optional[str] = None,
        degree: Optional[int] = None,
        usable_start: Optional[Time] = None,
        usable_stop: Optional[Time] = None,
        source: Optional[str] = None,
    ) -> "EphemerisObject":
        body = canonical_center(center)
        _check_frame(frame, body)
        kind = (interpolation or DEFAULT_INTERPOLATION).strip().upper()
        if kind not in SUPPORTED_INTERPOLATION:
            raise RecordError(
                "interpolation method not supported",
                source=source,
                field="INTERPOLATION",
                value=interpolation,
                expected=" or ".join(SUPPORTED_INTERPOLATION),
                object_id=object_id or name,
            )
        deg = DEFAULT_DEGREE if degree is None else int(degree)
        if deg < 1:
            raise RecordError("interpolation degree below 1", source=source, field="INTERPOLATION_DEGREE", value=degree, expected="an integer >= 1", object_id=object_id or name)
        r = np.array(r_km, dtype=float).reshape(-1, 3)
        v = np.array(v_km_s, dtype=float).reshape(-1, 3)
        tdb = epochs.tdb
        n = r.shape[0]
        if n < 2 or v.shape[0] != n or len(tdb) != n:
            raise RecordError(
                "a table object needs at least 2 states with matching epochs",
                source=source,
                field="states",
                value=f"{n} states, {len(tdb)} epochs",
                expected="2 or more states",
                object_id=object_id or name,
            )
        e0 = tdb[0]
        t_s = ((tdb.jd1 - e0.jd1) + (tdb.jd2 - e0.jd2)) * SECONDS_PER_DAY
        if np.any(np.diff(t_s) <= 0):
            raise RecordError("epochs not increasing", source=source, field="EPOCH", expected="strictly increasing epochs", object_id=object_id or name)
        lo, hi = float(t_s[0]), float(t_s[-1])
        if usable_start is not None:
            lo = max(lo, _seconds_from(e0, usable_start))
        if usable_stop is not None:
            hi = min(hi, _seconds_from(e0, usable_stop))
        if hi < lo:
            raise RecordError("usable span is empty", source=source, field="USEABLE_STOP_TIME", expected="after USEABLE_START_TIME and inside the data", object_id=object_id or name)
        for a in (t_s, r, v):
            a.setflags(write=False)
        return cls(name, object_id, center, frame, e0, t_s, r, v, kind, deg, lo, hi, source)

    @classmethod
    def from_oem_segment(cls, segment, *, source: Optional[str] = None, interpolation: Optional[str] = None, degree: Optional[int] = None) -> "EphemerisObject":
        """From an ``OemSegment``: its INTERPOLATION and DEGREE unless overridden."""
        md = segment.metadata
        return cls.from_states(
            segment.epochs,
            segment.r_km,
            segment.v_km_s,
            center=md.center_name,
            frame=md.ref_frame,
            name=md.object_name,
            object_id=md.object_id,
            interpolation=interpolation or md.interpolation,
            degree=degree if degree is not None else md.interpolation_degree,
            usable_start=md.useable_start_time,
            usable_stop=md.useable_stop_time,
            source=source,
        )

    @classmethod
    def from_horizons(cls, table, *, name: Optional[str] = None, interpolation: Optional[str] = None, degree: Optional[int] = None) -> "EphemerisObject":
        """From a ``HorizonsTable`` (ICRF axes, TDB)."""
        return cls.from_states(
            table.epochs,
            table.r_km,
            table.v_km_s,
            center=table.center,
            frame=table.frame,
            name=name or table.target or (table.source or "horizons"),
            interpolation=interpolation,
            degree=degree,
            source=table.source,
        )

    # ---- span
    def span(self) -> Time:
        """Usable span [start, stop] as a TDB Time of shape (2,)."""
        return self.epoch0_tdb + TimeDelta([self.span_start_tdb_s, self.span_stop_tdb_s], format="sec")

    # ---- evaluation
    def _offsets(self, t: Time) -> np.ndarray:
        tdb = t.tdb
        e0 = self.epoch0_tdb
        return np.atleast_1d(((tdb.jd1 - e0.jd1) + (tdb.jd2 - e0.jd2)) * SECONDS_PER_DAY)

    def states_native(self, t: Time, *, outside: str = "status"):
        """(r_km, v_km_s, status) relative to the table's centre, on its axes."""
        x = self._offsets(t)
        status = np.full(x.shape, STATUS_OK, dtype=np.int8)
        status[~np.isfinite(x)] = STATUS_BAD_EPOCH
        status[x < self.span_start_tdb_s - _SPAN_SLACK_S] = STATUS_BEFORE_SPAN
        status[x > self.span_stop_tdb_s + _SPAN_SLACK_S] = STATUS_AFTER_SPAN
        if outside == "raise" and np.any(status != STATUS_OK):
            i = int(np.flatnonzero(status != STATUS_OK)[0])
            jd = float(np.atleast_1d(t.tdb.jd1)[i] + np.atleast_1d(t.tdb.jd2)[i])
            sp = self.span()
            raise EphemerisRangeError(
                f"{self.name}: {EPHEMERIS_STATUS[int(status[i])]} (asked for JD(TDB) {jd:.9f}; "
                f"span {sp[0].isot} to {sp[1].isot} TDB)",
                start_jd=float(sp[0].jd),
                end_jd=float(sp[1].jd),
                jd=jd,
            )
        r = np.full(x.shape + (3,), np.nan)
        v = np.full(x.shape + (3,), np.nan)
        ok = status == STATUS_OK
        if np.any(ok):
            xq = np.clip(x[ok], self.t_tdb_s[0], self.t_tdb_s[-1])
            if self.interpolation == "HERMITE":
                r[ok], v[ok] = hermite(self.t_tdb_s, self.r_km, self.v_km_s, xq, self.degree)
            else:
                rv = lagrange(self.t_tdb_s, np.hstack([self.r_km, self.v_km_s]), xq, self.degree)
                r[ok], v[ok] = rv[:, :3], rv[:, 3:]
        if np.ndim(t.jd1) == 0:
            return r[0], v[0], status[0]
        return r, v, status

    def states(self, t: Time, *, outside: str = "status"):
        """(r_gcrs_km, v_gcrs_km_s, status) geocentric GCRS at epochs ``t``.

        Rows outside the usable span are NaN with status 1 (before) or 2
        (after); ``outside="raise"`` raises ``EphemerisRangeError`` instead.
        """
        r, v, status = self.states_native(t, outside=outside)
        if np.ndim(t.jd1) == 0:
            if status != STATUS_OK:
                return r, v, status
            r_g, v_g = state_to_gcrs(r, v, t, self.center, self.frame)
            return r_g, v_g, status
        ok = status == STATUS_OK
        r_g = np.full_like(r, np.nan)
        v_g = np.full_like(v, np.nan)
        if np.any(ok):
            r_g[ok], v_g[ok] = state_to_gcrs(r[ok], v[ok], t[ok], self.center, self.frame)
        return r_g, v_g, status

    def first_state(self) -> TableState:
        """GCRS state at the start of the usable span."""
        return self._state_at(self.span_start_tdb_s)

    def last_state(self) -> TableState:
        """GCRS state at the end of the usable span (a sample when the span
        ends on one), where a numerical propagator takes over."""
        return self._state_at(self.span_stop_tdb_s)

    def _state_at(self, offset_s: float) -> TableState:
        t = self.epoch0_tdb + TimeDelta(offset_s, format="sec")
        r, v, _ = self.states(t, outside="raise")
        return TableState(t, r, v)


def evaluate(objects: Sequence[EphemerisObject], t: Time):
    """Many table objects at the same epochs: (n_objects, n_times, 3) GCRS
    position and velocity and an (n_objects, n_times) status array.

    A loop over objects by design: each object has its own table.
    """
    n_t = np.atleast_1d(t.jd1).size
    tt = t if np.ndim(t.jd1) else t.reshape((1,))
    r = np.full((len(objects), n_t, 3), np.nan)
    v = np.full((len(objects), n_t, 3), np.nan)
    status = np.zeros((len(objects), n_t), dtype=np.int8)
    for i, obj in enumerate(objects):
        r[i], v[i], status[i] = obj.states(tt)
    return r, v, status


def objects_from_oem(oem, *, source: Optional[str] = None) -> list[EphemerisObject]:
    """One ``EphemerisObject`` per OEM segment (segments are never joined:
    CCSDS splits segments at maneuvers, where interpolation must stop)."""
    return [EphemerisObject.from_oem_segment(s, source=source or oem.source) for s in oem.segments]


def _seconds_from(e0: Time, t: Time) -> float:
    tdb = t.tdb
    return float(((tdb.jd1 - e0.jd1) + (tdb.jd2 - e0.jd2)) * SECONDS_PER_DAY)
