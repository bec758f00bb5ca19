"""Replay of an encounter between two objects: pure computation, no Streamlit, no SQL.

The caller supplies the two element sets that were known at the chosen moment
(``db.queries.current_element_sets(..., known_at_utc=...)``) and a time
window; ``reconstruct_encounter`` propagates both with the core's SGP4
(``propagators.sgp4_batch``), finds the closest approach with the screening
core's range-minimum search on Hermite arcs
(``propagators.screening.conjunctions.closest_approaches``), polishes the TCA
on SGP4 itself, and builds what the replay page shows: the relative
trajectory in the primary's RTN frame, the encounter geometry and the
conjunction-plane covariance (``propagators.screening.encounter``) and the Pc
(``propagators.screening.pc.compute_pc``).

Units: km, km/s, s; times are aware UTC datetimes at the boundary and
seconds from ``start_utc`` inside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from scipy.optimize import minimize_scalar

from propagators import sgp4_batch
from propagators.elements import MeanElements
from propagators.screening.conjunctions import closest_approaches
from propagators.screening.encounter import encounter_geometry, rtn_basis, rtn_to_inertial_cov
from propagators.timeutil import Time, require_utc

#: TCA is polished on SGP4 to this absolute tolerance (s).
TCA_XTOL_S = 1e-6
#: The sampled window is refined on Hermite arcs between samples of at most
#: this step (s): the interpolant's position error at 2 s in LEO is ~1e-7 km.
MAX_SAMPLE_STEP_S = 2.0
MIN_SAMPLE_STEP_S = 0.05
MAX_SAMPLES = 200_000
SECONDS_PER_DAY = 86400.0


class ReplayError(ValueError):
    """The replay cannot be computed (no states in the window, bad window)."""


@dataclass(frozen=True)
class ReplayObject:
    """One side of the encounter: its element set and what the page shows of it."""

    label: str
    elements: MeanElements
    element_set_id: int | None = None
    regime: str | None = None


@dataclass(frozen=True)
class Replay:
    """A reconstructed encounter.

    ``epochs_utc``/``t_from_tca_s`` and the state arrays (``(n, 3)``, GCRS)
    are the playback frames; ``rel_rtn_km`` is the secondary's position
    minus the primary's in the primary's RTN frame (R, T, N) at those
    frames. ``miss_plane_km``/``cov_plane_km2`` are the miss vector and the
    combined position covariance in the conjunction plane (CARA's x, z
    axes), ``hbr_m`` the hard-body radius of the Pc.
    """

    primary: ReplayObject
    secondary: ReplayObject
    start_utc: datetime
    stop_utc: datetime
    tca_utc: datetime
    miss_km: float
    relative_speed_km_s: float
    miss_rtn_km: np.ndarray
    approach_angle_deg: float
    at_window_edge: bool
    epochs_utc: list[datetime]
    t_from_tca_s: np.ndarray
    r1_gcrs_km: np.ndarray
    v1_gcrs_km_s: np.ndarray
    r2_gcrs_km: np.ndarray
    v2_gcrs_km_s: np.ndarray
    rel_rtn_km: np.ndarray
    range_km: np.ndarray
    track_t_from_tca_s: np.ndarray
    track_rel_rtn_km: np.ndarray
    r1_tca_gcrs_km: np.ndarray
    v1_tca_gcrs_km_s: np.ndarray
    r2_tca_gcrs_km: np.ndarray
    v2_tca_gcrs_km_s: np.ndarray
    element_age_days: tuple[float, float]
    sample_step_s: float
    other_minima: list[tuple[datetime, float]] = field(default_factory=list)
    pc: float | None = None
    pc_method: str | None = None
    hbr_m: float | None = None
    pc_warnings: list[str] = field(default_factory=list)
    covariance_source: list[str] = field(default_factory=list)
    cov1_gcrs_km: np.ndarray | None = None
    cov2_gcrs_km: np.ndarray | None = None
    miss_plane_km: np.ndarray | None = None
    cov_plane_km2: np.ndarray | None = None
    mahalanobis: float | None = None
    pc_result: object | None = None  # propagators.screening.pc.PcResult

    def conjunction(self):
        """The core's ``Conjunction`` at TCA, with the covariances used for the Pc."""
        from propagators.screening.pc import Conjunction

        return Conjunction(
            self.r1_tca_gcrs_km, self.v1_tca_gcrs_km_s, self.cov1_gcrs_km,
            self.r2_tca_gcrs_km, self.v2_tca_gcrs_km_s, self.cov2_gcrs_km,
            tca=self.tca_utc, hbr_m=self.hbr_m, frame="GCRS",
            object1=self.primary.label, object2=self.secondary.label,
        )

    def summary(self) -> dict:
        """Plain numbers for tables, CSV and the HTML report."""
        from propagators.timeutil import iso_z

        return {
            "primary": self.primary.label,
            "secondary": self.secondary.label,
            "primary_element_set_id": self.primary.element_set_id,
            "secondary_element_set_id": self.secondary.element_set_id,
            "primary_element_epoch": iso_z(self.primary.elements.epoch_utc),
            "secondary_element_epoch": iso_z(self.secondary.elements.epoch_utc),
            "window_start": iso_z(self.start_utc),
            "window_stop": iso_z(self.stop_utc),
            "tca": iso_z(self.tca_utc),
            "miss_km": self.miss_km,
            "relative_speed_km_s": self.relative_speed_km_s,
            "miss_r_km": float(self.miss_rtn_km[0]),
            "miss_t_km": float(self.miss_rtn_km[1]),
            "miss_n_km": float(self.miss_rtn_km[2]),
            "approach_angle_deg": self.approach_angle_deg,
            "at_window_edge": self.at_window_edge,
            "pc": self.pc,
            "pc_method": self.pc_method,
            "hbr_m": self.hbr_m,
            "mahalanobis": self.mahalanobis,
            "element_age_days_primary": self.element_age_days[0],
            "element_age_days_secondary": self.element_age_days[1],
        }


def _jd_parts(t0: datetime) -> tuple[float, float]:
    t = Time(require_utc(t0), scale="utc")
    return float(t.jd1), float(t.jd2)


def _range_teme_km(sats, jd1: float, jd2: float, t_s: float) -> float:
    """Distance between the two objects at ``t_s`` seconds after (jd1 + jd2).

    Computed in TEME: both positions share the epoch's rotation to GCRS, so
    the distance is the same in either frame.
    """
    fr = jd2 + t_s / SECONDS_PER_DAY
    e1, r1, _ = sats[0].sgp4(jd1, fr)
    e2, r2, _ = sats[1].sgp4(jd1, fr)
    if e1 or e2:
        return math.inf
    return math.dist(r1, r2)


def choose_step_s(span_s: float) -> float:
    """Sampling step for a window: fine enough for the Hermite refinement,
    bounded in sample count."""
    step = min(MAX_SAMPLE_STEP_S, max(MIN_SAMPLE_STEP_S, span_s / 4000.0))
    if span_s / step > MAX_SAMPLES:
        step = span_s / MAX_SAMPLES
    return step


def reconstruct_encounter(
    primary: ReplayObject,
    secondary: ReplayObject,
    start_utc: datetime,
    stop_utc: datetime,
    *,
    expected_tca_utc: datetime | None = None,
    step_s: float | None = None,
    n_frames: int = 121,
    max_track_points: int = 2000,
    pc_method: str | None = "foster",
    hbr_m: float | None = None,
) -> Replay:
    """Reconstruct the closest approach of two objects inside a window.

    With ``expected_tca_utc`` (a stored event), the local range minimum
    nearest to it is the TCA; otherwise the deepest minimum in the window.
    ``n_frames`` playback frames span the window around the TCA.
    """
    start_utc = require_utc(start_utc)
    stop_utc = require_utc(stop_utc)
    span_s = (stop_utc - start_utc).total_seconds()
    if not span_s > 0:
        raise ReplayError(f"window {start_utc.isoformat()} to {stop_utc.isoformat()}: the stop must be after the start")
    step = float(step_s) if step_s is not None else choose_step_s(span_s)
    n = int(math.floor(span_s / step)) + 1
    t_s = np.arange(n, dtype=float) * step
    if t_s[-1] < span_s:
        t_s = np.append(t_s, span_s)
    jd1, jd2 = _jd_parts(start_utc)
    times = Time(np.full(t_s.shape, jd1), jd2 + t_s / SECONDS_PER_DAY, format="jd", scale="utc")
    sats = [sgp4_batch.satrec_from_elements(primary.elements), sgp4_batch.satrec_from_elements(secondary.elements)]
    # The search runs in TEME: distances and RTN components are the same in
    # TEME and GCRS (one rotation per epoch for both objects), and it spares
    # an astropy frame rotation per sample; only the playback frames and the
    # TCA are rotated to GCRS below.
    res = sgp4_batch.propagate_teme(sats, times)
    good = ~(res.error_code != 0).any(axis=0)
    if good.sum() < 3:
        msgs = {sgp4_batch.SGP4_ERRORS.get(int(c), str(int(c))) for c in np.unique(res.error_code) if c}
        raise ReplayError(f"SGP4 gives no states for both objects in the window ({'; '.join(sorted(msgs)) or 'no samples'})")
    t_good = t_s[good]
    r_a, v_a = res.r_km[0][good], res.v_km_s[0][good]
    r_b, v_b = res.r_km[1][good], res.v_km_s[1][good]
    tca_s_all, miss_all, edge_all = closest_approaches(r_a, v_a, r_b, v_b, t_good)
    if len(tca_s_all) == 0:
        k = int(np.argmin(np.linalg.norm(r_a - r_b, axis=-1)))
        tca_s_all, miss_all, edge_all = np.array([t_good[k]]), np.array([np.linalg.norm(r_a[k] - r_b[k])]), np.array([True])
    if expected_tca_utc is not None:
        target = (require_utc(expected_tca_utc) - start_utc).total_seconds()
        pick = int(np.argmin(np.abs(tca_s_all - target)))
    else:
        interior = np.flatnonzero(~edge_all)
        pool = interior if interior.size else np.arange(len(tca_s_all))
        pick = int(pool[np.argmin(miss_all[pool])])
    t_guess = float(tca_s_all[pick])
    at_edge = bool(edge_all[pick])
    lo = max(0.0, t_guess - step)
    hi = min(span_s, t_guess + step)
    if not at_edge and hi > lo:
        opt = minimize_scalar(
            lambda x: _range_teme_km(sats, jd1, jd2, x), bounds=(lo, hi), method="bounded",
            options={"xatol": TCA_XTOL_S},
        )
        tca_s = float(opt.x) if opt.fun <= float(miss_all[pick]) + 1e-9 else t_guess
    else:
        tca_s = t_guess
    tca_utc = start_utc + timedelta(microseconds=round(tca_s * 1e6))
    others = [
        (start_utc + timedelta(microseconds=round(float(tt) * 1e6)), float(mm))
        for k, (tt, mm) in enumerate(zip(tca_s_all, miss_all)) if k != pick
    ]

    # Playback frames across the window and the TCA, in GCRS (one rotation call).
    frame_idx = np.unique(np.linspace(0, len(t_good) - 1, min(n_frames, len(t_good))).round().astype(int))
    frame_t = t_good[frame_idx]
    gcrs_t = np.append(frame_t, tca_s)
    g = sgp4_batch.propagate(
        sats, Time(np.full(gcrs_t.shape, jd1), jd2 + gcrs_t / SECONDS_PER_DAY, format="jd", scale="utc"), "GCRS"
    )
    fr1, fv1, fr2, fv2 = g.r_km[0, :-1], g.v_km_s[0, :-1], g.r_km[1, :-1], g.v_km_s[1, :-1]
    r1, v1 = g.r_km[0, -1], g.v_km_s[0, -1]
    r2, v2 = g.r_km[1, -1], g.v_km_s[1, -1]
    if not (np.all(np.isfinite(r1)) and np.all(np.isfinite(r2))):
        raise ReplayError("SGP4 gives no state at the time of closest approach")
    ages = (
        (tca_utc - require_utc(primary.elements.epoch_utc)).total_seconds() / SECONDS_PER_DAY,
        (tca_utc - require_utc(secondary.elements.epoch_utc)).total_seconds() / SECONDS_PER_DAY,
    )
    rel_rtn = np.einsum("nij,nj->ni", rtn_basis(fr1, fv1), fr2 - fr1)
    epochs = [start_utc + timedelta(microseconds=round(float(tt) * 1e6)) for tt in frame_t]
    # The relative track, denser than the frames (TEME: RTN components are frame-independent).
    track_idx = np.unique(np.linspace(0, len(t_good) - 1, min(max_track_points, len(t_good))).round().astype(int))
    track_rtn = np.einsum(
        "nij,nj->ni", rtn_basis(r_a[track_idx], v_a[track_idx]), r_b[track_idx] - r_a[track_idx]
    )

    replay_kwargs: dict = {}
    geom_cov = (None, None)
    if pc_method:
        from propagators.screening.pc import Conjunction, compute_pc

        conj = Conjunction(
            r1, v1, None, r2, v2, None, tca=tca_utc, hbr_m=None, frame="GCRS",
            object1=primary.label, object2=secondary.label,
            regime1=_pc_regime(primary.regime), regime2=_pc_regime(secondary.regime),
            element_age_days1=ages[0], element_age_days2=ages[1],
        )
        result = compute_pc(conj, method=pc_method, hbr_m=hbr_m, check_usage=True)
        c1 = rtn_to_inertial_cov(_default_cov(conj.regime1, r1, v1, ages[0]), r1, v1)
        c2 = rtn_to_inertial_cov(_default_cov(conj.regime2, r2, v2, ages[1]), r2, v2)
        geom_cov = (c1, c2)
        replay_kwargs.update(
            pc=float(result.pc) if result.pc is not None and math.isfinite(result.pc) else None,
            pc_method=result.method,
            hbr_m=float(result.hbr_m),
            pc_warnings=list(result.warnings),
            covariance_source=list(result.details.get("covariance_source", [])),
            cov1_gcrs_km=c1,
            cov2_gcrs_km=c2,
            pc_result=result,
        )
    geom = encounter_geometry(r1, v1, r2, v2, geom_cov[0], geom_cov[1])
    return Replay(
        primary=primary,
        secondary=secondary,
        start_utc=start_utc,
        stop_utc=stop_utc,
        tca_utc=tca_utc,
        miss_km=float(geom.miss_km),
        relative_speed_km_s=float(geom.relative_speed_km_s),
        miss_rtn_km=np.asarray(geom.miss_rtn_km, float),
        approach_angle_deg=math.degrees(float(geom.approach_angle_rad)),
        at_window_edge=at_edge,
        epochs_utc=epochs,
        t_from_tca_s=frame_t - tca_s,
        r1_gcrs_km=fr1,
        v1_gcrs_km_s=fv1,
        r2_gcrs_km=fr2,
        v2_gcrs_km_s=fv2,
        rel_rtn_km=rel_rtn,
        range_km=np.linalg.norm(fr2 - fr1, axis=-1),
        track_t_from_tca_s=t_good[track_idx] - tca_s,
        track_rel_rtn_km=track_rtn,
        r1_tca_gcrs_km=r1,
        v1_tca_gcrs_km_s=v1,
        r2_tca_gcrs_km=r2,
        v2_tca_gcrs_km_s=v2,
        element_age_days=ages,
        sample_step_s=step,
        other_minima=others,
        miss_plane_km=np.asarray(geom.miss_plane_km, float),
        cov_plane_km2=None if geom.cov_plane_km2 is None else np.asarray(geom.cov_plane_km2, float),
        mahalanobis=None if geom.mahalanobis is None else float(geom.mahalanobis),
        **replay_kwargs,
    )


_PC_REGIMES = ("LEO", "MEO", "GEO", "HEO", "CISLUNAR")


def _pc_regime(regime: str | None) -> str | None:
    """The Pc module's default covariances know LEO/MEO/GEO/HEO/CISLUNAR;
    lunar and libration objects use the cislunar default."""
    if regime is None:
        return None
    r = regime.upper()
    if r in _PC_REGIMES:
        return r
    if r in ("LUNAR", "LIBRATION"):
        return "CISLUNAR"
    return None


def _default_cov(regime: str | None, r_km, v_km_s, age_days: float) -> np.ndarray:
    from propagators.screening.pc import classify_regime, default_covariance_rtn

    return default_covariance_rtn(regime or classify_regime(r_km, v_km_s), age_days)


def covariance_ellipse(cov2_km2: np.ndarray, n_sigma: float = 1.0, n_points: int = 121) -> np.ndarray:
    """(n_points, 2) points of the ``n_sigma`` ellipse of a 2x2 covariance."""
    lam, vec = np.linalg.eigh(0.5 * (cov2_km2 + cov2_km2.T))
    lam = np.maximum(lam, 0.0)
    th = np.linspace(0.0, 2.0 * math.pi, n_points)
    unit = np.stack([np.cos(th), np.sin(th)], axis=-1)
    return n_sigma * (unit * np.sqrt(lam)) @ vec.T


def replay_table(replay: Replay) -> "list[dict]":
    """Rows of the playback frames for CSV export (GCRS, km, km/s)."""
    from propagators.timeutil import iso_z

    rows = []
    for k, t in enumerate(replay.epochs_utc):
        r1, v1, r2, v2 = replay.r1_gcrs_km[k], replay.v1_gcrs_km_s[k], replay.r2_gcrs_km[k], replay.v2_gcrs_km_s[k]
        rel = replay.rel_rtn_km[k]
        rows.append({
            "epoch_utc": iso_z(t),
            "t_from_tca_s": float(replay.t_from_tca_s[k]),
            "range_km": float(replay.range_km[k]),
            "rel_r_km": float(rel[0]), "rel_t_km": float(rel[1]), "rel_n_km": float(rel[2]),
            "x1_gcrs_km": float(r1[0]), "y1_gcrs_km": float(r1[1]), "z1_gcrs_km": float(r1[2]),
            "vx1_gcrs_km_s": float(v1[0]), "vy1_gcrs_km_s": float(v1[1]), "vz1_gcrs_km_s": float(v1[2]),
            "x2_gcrs_km": float(r2[0]), "y2_gcrs_km": float(r2[1]), "z2_gcrs_km": float(r2[2]),
            "vx2_gcrs_km_s": float(v2[0]), "vy2_gcrs_km_s": float(v2[1]), "vz2_gcrs_km_s": float(v2[2]),
        })
    return rows


def replay_from_known_sets(
    sets: list[dict],
    object_ids: tuple[int, int],
    start_utc: datetime,
    stop_utc: datetime,
    *,
    expected_tca_utc: datetime | None = None,
    known_at_text: str = "the chosen moment",
) -> Replay:
    """Replay from the element sets ``dashboard.data.load_known_element_sets``
    returns (dicts with label, elements, element_set_id, regime, format).

    Raises ``ReplayError`` naming what is missing: an object with no set
    known then, or a set that is an ephemeris rather than mean elements.
    """
    by_id = {s["object_id"]: s for s in sets}
    missing = [i for i in object_ids if i not in by_id]
    if missing:
        raise ReplayError(f"no element set of object(s) {missing} was known at {known_at_text}")
    objs = []
    for i in object_ids:
        s = by_id[i]
        if s["elements"] is None:
            raise ReplayError(
                f"{s['label']}: element set {s['element_set_id']} is an ephemeris/state ({s['format']}); "
                "the replay propagates SGP4 mean elements"
            )
        objs.append(ReplayObject(s["label"], s["elements"], s["element_set_id"], s["regime"]))
    return reconstruct_encounter(objs[0], objs[1], start_utc, stop_utc, expected_tca_utc=expected_tca_utc)
