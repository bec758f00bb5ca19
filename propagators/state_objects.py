"""Objects known as states or ephemerides (OEM, Horizons tables, OPM).

* An ephemeris table is evaluated by interpolation of its declared kind and
  degree strictly inside its usable span; beyond the span it is propagated
  numerically from its last (or, before it, first) state: a polynomial is
  never extrapolated.
* An OPM state (with its optional impulsive manoeuvres) is propagated
  numerically.
* The force model for cislunar states is Earth point mass + J2..J4, Moon and
  Sun third bodies (DE421), switching to Moon-centred integration inside the
  Moon's sphere of influence, where lunar J2 is added; the model and the
  reason are returned with the states.

Everything here is pure: the stored raw text of an element set plus the
epochs in, geocentric GCRS states out, with a message per epoch where a
state could not be produced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from propagators.timeutil import Time

ORBIT_MODEL_NAME = "numerical"
# How far a state or the end of an ephemeris may be propagated.  Beyond it a
# cislunar prediction from one old state is not information: the epochs get
# NaN and a message asking for newer data.
MAX_PROPAGATION_DAYS = 60.0
EPHEMERIS_NAME = "ephemeris"


def default_model():
    from propagators.forces import EARTH, MOON, SUN, EarthZonal, ForceModel, LunarGravityField, PointMass, ThirdBody

    return ForceModel([PointMass(EARTH), EarthZonal(4), ThirdBody(MOON), ThirdBody(SUN), LunarGravityField(2, 0)])


MODEL_DESCRIPTION = "Cowell DOP853: Earth point mass + J2-J4, Moon + Sun (DE421), lunar J2; Moon-centred inside the SOI"


@dataclass(frozen=True)
class StateSource:
    """What a stored state/ephemeris element set holds, parsed."""

    kind: str  # "ephemeris" or "state"
    table: object | None = None  # EphemerisObject
    opm: object | None = None  # OpmFile


def load(fmt: str, raw_text: str, segment: int = 0, source: str | None = None) -> StateSource:
    from propagators.ephemeris_objects import EphemerisObject

    if fmt.startswith("oem"):
        from propagators.parsing.oem import parse_oem

        oem = parse_oem(raw_text, source=source)
        return StateSource("ephemeris", table=EphemerisObject.from_oem_segment(oem.segments[segment], source=source))
    if fmt.startswith("horizons"):
        from propagators.parsing.horizons import parse_horizons

        table = parse_horizons(raw_text, source=source)
        return StateSource("ephemeris", table=EphemerisObject.from_horizons(table))
    if fmt.startswith("opm"):
        from propagators.parsing.opm import parse_opm

        return StateSource("state", opm=parse_opm(raw_text, source=source))
    raise ValueError(f"format {fmt!r}: expected an OEM, OPM or Horizons element set")


def _numerical(r0, v0, epoch: Time, t: Time, model=None):
    from propagators.numerical import NUMERICAL_ERRORS, propagate_states

    r, v, status = propagate_states(np.atleast_2d(r0), np.atleast_2d(v0), epoch, t, model or default_model())
    msg = None if int(status[0]) == 0 else NUMERICAL_ERRORS.get(int(status[0]), f"numerical error {int(status[0])}")
    return r[0], v[0], msg


def _too_far(messages, t_s_from_anchor, what: str, max_days: float) -> np.ndarray:
    far = np.abs(t_s_from_anchor) > max_days * 86400.0
    for k in np.flatnonzero(far):
        messages[k] = (
            f"{abs(t_s_from_anchor[k]) / 86400.0:.0f} days from the {what}: beyond the {max_days:.0f}-day "
            "propagation limit; supply a newer OPM/OEM for this object"
        )
    return far


def propagate(src: StateSource, t: Time, max_days: float = MAX_PROPAGATION_DAYS):
    """(r_gcrs_km (m,3), v_gcrs_km_s (m,3), messages (m,), propagator name)."""
    t = Time(np.atleast_1d(t.utc.jd1), np.atleast_1d(t.utc.jd2), format="jd", scale="utc")
    m = len(t)
    r = np.full((m, 3), np.nan)
    v = np.full((m, 3), np.nan)
    messages: list[str | None] = [None] * m
    if src.kind == "state":
        opm = src.opm
        r0, v0 = opm.state_gcrs()
        epoch = opm.epoch
        far = _too_far(messages, _seconds(epoch, t), "OPM epoch", max_days)
        ok = ~far
        if ok.any():
            rr, vv, msg = _propagate_with_manoeuvres(np.asarray(r0), np.asarray(v0), epoch, t[ok], opm.maneuvers)
            r[ok], v[ok] = rr, vv
            if msg:
                for k in np.flatnonzero(ok):
                    messages[k] = msg
        return r, v, messages, ORBIT_MODEL_NAME
    table = src.table
    t_s = _seconds(table.epoch0_tdb, t)
    inside = (t_s >= table.span_start_tdb_s) & (t_s <= table.span_stop_tdb_s)
    if inside.any():
        ri, vi, _status = table.states(t[inside])
        r[inside], v[inside] = ri, vi
    after = t_s > table.span_stop_tdb_s
    before = t_s < table.span_start_tdb_s
    name = EPHEMERIS_NAME
    after &= ~_too_far(messages, np.where(after, t_s - table.span_stop_tdb_s, 0.0), "end of the ephemeris", max_days)
    before &= ~_too_far(messages, np.where(before, t_s - table.span_start_tdb_s, 0.0), "start of the ephemeris", max_days)
    for mask, anchor in ((after, table.last_state), (before, table.first_state)):
        if mask.any():
            st = anchor()
            ra, va, msg = _numerical(st.r_gcrs_km, st.v_gcrs_km_s, st.epoch, t[mask])
            r[mask], v[mask] = ra, va
            if msg:
                for k in np.flatnonzero(mask):
                    messages[k] = msg
            name = "ephemeris+numerical"
    return r, v, messages, name


def _seconds(e0: Time, t: Time) -> np.ndarray:
    tdb = t.tdb
    return ((tdb.jd1 - e0.tdb.jd1) + (tdb.jd2 - e0.tdb.jd2)) * 86400.0


def _propagate_with_manoeuvres(r0, v0, epoch: Time, t: Time, manoeuvres):
    """Impulsive manoeuvres applied at mid-burn (ignition + duration/2), in
    RTN/RSW or inertial axes as the OPM states.  Manoeuvres before the OPM
    epoch are already in its state and are not applied again; epochs before
    the OPM epoch are propagated backwards from the state without them."""
    burns = sorted(
        (mv for mv in manoeuvres if float(_seconds(epoch, Time([mv.epoch_ignition]))[0]) >= 0.0),
        key=lambda mv: mv.epoch_ignition.tdb.jd1 + mv.epoch_ignition.tdb.jd2,
    )
    m = len(t)
    r = np.full((m, 3), np.nan)
    v = np.full((m, 3), np.nan)
    t_s = _seconds(epoch, t)
    seg_start_s, seg_epoch, seg_r, seg_v = -np.inf, epoch, r0, v0
    from astropy import units as u

    for burn in burns + [None]:
        if burn is None:
            seg_end_s = np.inf
        else:
            mid = burn.epoch_ignition + burn.duration_s / 2.0 * u.s
            seg_end_s = float(_seconds(epoch, Time([mid]))[0])
        mask = (t_s >= seg_start_s) & (t_s < seg_end_s)
        if mask.any():
            rs, vs, msg = _numerical(seg_r, seg_v, seg_epoch, t[mask])
            if msg:
                return r, v, msg
            r[mask], v[mask] = rs, vs
        if burn is None:
            break
        # advance the state to the burn and add the impulse
        rb, vb, msg = _numerical(seg_r, seg_v, seg_epoch, Time([mid]))
        if msg:
            return r, v, msg
        rb, vb = rb[0], vb[0]
        dv = np.asarray(burn.dv_km_s, dtype=float)
        if burn.ref_frame.upper() in ("RTN", "RSW", "RIC"):
            rhat = rb / np.linalg.norm(rb)
            nhat = np.cross(rb, vb)
            nhat /= np.linalg.norm(nhat)
            that = np.cross(nhat, rhat)
            dv = dv[0] * rhat + dv[1] * that + dv[2] * nhat
        seg_start_s, seg_epoch, seg_r, seg_v = seg_end_s, Time(mid), rb, vb + dv
    return r, v, None
