"""Force-model terms that add up, flattened into arrays for the compiled kernels.

A model is a list of small immutable terms with one meaning each::

    ForceModel([PointMass(EARTH), EarthZonal(degree=4), ThirdBody(MOON),
                ThirdBody(SUN), SRP(area_to_mass_m2_kg=0.02, cr=1.3)])

(the style of SSAPy's ``AccelKepler() + AccelThirdBody(moon)``).  Terms name
a *body*, not a role: the integrator chooses the centre (Earth or Moon) and
every term is applied relative to it.  For a body ``b`` with field ``F_b``:

* if ``b`` is the integration centre: ``a = F_b(r)``;
* otherwise: ``a = F_b(r - r_b) - F_b(-r_b)``, the direct pull on the object
  minus the pull on the centre (the indirect term), exact for point masses
  and for harmonic fields alike.

``ThirdBody`` is therefore the same physics as ``PointMass``; it exists so a
model reads the way engineers write it.

Units: km, km/s, s.  Vectors: ICRF axes (GCRS for Earth-centred states,
MCI for Moon-centred ones).  Time: ``t_tdb_s``, TDB seconds from the
propagation epoch.

This module describes the model and flattens it (``compile_model``) into the
seven arrays of ``CompiledModel``; the compiled kernels that evaluate it live
in ``propagators.numerical`` (one module, so numba's on-disk cache can never
pair a kernel with a stale copy of another).

Ephemerides inside the right-hand side
--------------------------------------
DE421 is itself a set of Chebyshev polynomials (4-day records for the
Moon and the Earth about the Earth-Moon barycentre, 16 days for the EMB and
the Sun).  Rather than re-sampling it on a grid and interpolating, the records
that cover the propagation span are taken out of the kernel once and combined
into geocentric Moon and Sun series on the 4-day records (``ephemeris_tables``:
sums of DE421's own polynomials, the 16-day ones re-expanded exactly on each
4-day sub-interval), evaluated inside the compiled right-hand side by
Clenshaw's recurrence: this *is* DE421, not an interpolation of samples of
it, and costs ~0.1 us per call.  ``tests/test_forces.py`` checks the compiled
positions and the Moon's velocity against jplephem: rounding level (Moon
< 1e-7 km, Sun < 1e-6 km, i.e. under a millimetre; in acceleration terms
< 1e-15 km/s^2), far below the 1 m asked for.
The lunar principal-axis angles (binary PCK, 8-day records) are evaluated the
same way.

Earth zonal harmonics use the Earth's true pole (CIP) in GCRS from IAU
2006/2000A precession-nutation (ERFA ``pnm06a``) on a 6-h grid, linearly
interpolated (error < 1e-3 arcsec); TT is taken equal to TDB there (< 2 ms).
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from propagators import timeutil  # noqa: F401  (offline IERS set-up first)
from propagators.ephemeris import (
    GM_EARTH_DE421_KM3_S2,
    GM_MOON_DE421_KM3_S2,
    GM_SUN_DE421_KM3_S2,
    de421_path,
)
from propagators.errors import EphemerisRangeError
from propagators.lunar_gravity import moon_pa_records, read_grgm1200a, recursion_factors

SECONDS_PER_DAY = 86400.0
AU_KM = 149597870.7  # IAU 2012 Resolution B2
SOLAR_PRESSURE_1AU_N_M2 = 4.56e-6  # Montenbruck & Gill (2000) sec. 3.4, 1367 W/m^2 / c

# Body indices inside the compiled kernels (not NAIF ids).
EARTH_INDEX, MOON_INDEX, SUN_INDEX = 0, 1, 2

# Term codes inside the compiled kernels.
_POINT_MASS, _ZONAL, _HARMONICS, _SRP = 1, 2, 3, 4
_SHADOW_CODES = {"none": 0, "cylindrical": 1, "conical": 2}

# EGM2008 fully normalised zonal coefficients (Pavlis et al. 2012, JGR 117,
# B04406; egm2008 coefficient file): C20, C30, C40, C50, C60.
EGM2008_CBAR_N0 = {
    2: -0.484165143790815e-03,
    3: 0.957161207093473e-06,
    4: 0.539965866638991e-06,
    5: 0.686702913736681e-07,
    6: -0.149953927978527e-06,
}
EGM2008_GM_KM3_S2 = 398600.4415
EGM2008_RADIUS_KM = 6378.1363


@dataclass(frozen=True)
class Body:
    """A gravitating body: compiled index, DE421 GM and a radius used for
    impact and shadow tests (Earth equatorial; Moon and Sun IAU mean)."""

    name: str
    index: int
    gm_km3_s2: float
    radius_km: float


EARTH = Body("earth", EARTH_INDEX, GM_EARTH_DE421_KM3_S2, 6378.1363)
MOON = Body("moon", MOON_INDEX, GM_MOON_DE421_KM3_S2, 1737.4)
SUN = Body("sun", SUN_INDEX, GM_SUN_DE421_KM3_S2, 695700.0)
BODIES = {"earth": EARTH, "moon": MOON, "sun": SUN}


def _body(body: Body | str) -> Body:
    if isinstance(body, Body):
        return body
    try:
        return BODIES[str(body).lower()]
    except KeyError:
        raise ValueError(f"body {body!r}: expected one of {sorted(BODIES)}") from None


# ---------------------------------------------------------------------------
# Terms


@dataclass(frozen=True)
class PointMass:
    """Newtonian point mass of ``body`` (central or third body, see module doc).

    ``gm_km3_s2`` defaults to the DE421 value (consistent with the ephemeris).
    """

    body: Body | str
    gm_km3_s2: float | None = None

    def gm(self) -> float:
        return _body(self.body).gm_km3_s2 if self.gm_km3_s2 is None else float(self.gm_km3_s2)


@dataclass(frozen=True)
class ThirdBody(PointMass):
    """Alias of ``PointMass`` for a body that is not the integration centre;
    the indirect term is applied automatically."""


@dataclass(frozen=True)
class EarthZonal:
    """Earth zonal harmonics J2..J``degree`` (2 <= degree <= 6), EGM2008, about
    the true (CIP) pole.  The J0 term is not included: pair with
    ``PointMass(EARTH)``."""

    degree: int = 4
    gm_km3_s2: float = EGM2008_GM_KM3_S2
    radius_km: float = EGM2008_RADIUS_KM

    def __post_init__(self):
        if not 2 <= int(self.degree) <= 6:
            raise ValueError(f"EarthZonal degree {self.degree!r}: expected 2..6")

    def j_coefficients(self) -> np.ndarray:
        """Unnormalised J_n = -C_n0 = -sqrt(2n+1) C_bar_n0, indexed by n."""
        j = np.zeros(7)
        for n in range(2, int(self.degree) + 1):
            j[n] = -np.sqrt(2 * n + 1) * EGM2008_CBAR_N0[n]
        return j


@dataclass(frozen=True)
class LunarGravityField:
    """GRGM1200A non-spherical lunar gravity (degree >= 2) truncated to
    ``degree`` x ``order``, in the DE440 lunar principal-axis frame.

    ``LunarGravityField(2, 0)`` is lunar J2 alone.  Pair with
    ``PointMass(MOON)``.  Far from the Moon the sum is cut where
    (R/r)^n < 1e-13 (at the 66,100 km sphere of influence: degree 8),
    so a high-degree field costs little outside low lunar orbit.
    """

    degree: int = 50
    order: int | None = None

    def field(self):
        return read_grgm1200a(int(self.degree), None if self.order is None else int(self.order))


@dataclass(frozen=True, eq=False)
class SRP:
    """Cannonball solar radiation pressure with Earth and Moon shadow.

    ``a = -nu * Cr * (A/m) * P_1au * (1 au / d)^2 * u_sun`` where ``d`` and
    ``u_sun`` are the distance and unit vector from the object to the Sun,
    ``P_1au = 4.56e-6 N/m^2`` and ``nu`` the illuminated fraction.

    ``shadow``:

    * ``"conical"`` (default): umbra, penumbra and antumbra from the apparent
      radii of the Sun and of the occulting body and their separation,
      Montenbruck & Gill (2000) sec. 3.4.2, eqs. 3.85-3.87;
    * ``"cylindrical"``: full shadow inside the cylinder of the body's
      radius behind it (anti-Sun side), no penumbra;
    * ``"none"``.

    Earth and Moon shadows multiply (a rare simultaneous eclipse by both is
    approximate).  No light-time, no Earth albedo/IR.
    ``area_to_mass_m2_kg`` and ``cr`` are scalars or arrays of one value
    per object.
    """

    area_to_mass_m2_kg: float | np.ndarray = 0.01
    cr: float | np.ndarray = 1.3
    shadow: str = "conical"
    pressure_1au_n_m2: float = SOLAR_PRESSURE_1AU_N_M2

    def __post_init__(self):
        if self.shadow not in _SHADOW_CODES:
            raise ValueError(f"SRP shadow {self.shadow!r}: expected one of {sorted(_SHADOW_CODES)}")


@dataclass(frozen=True, eq=False)
class ForceModel:
    """A sum of terms.  At most one ``EarthZonal``, one
    ``LunarGravityField`` and one ``SRP``; point masses of distinct bodies."""

    terms: tuple = field(default_factory=tuple)

    def __init__(self, terms):
        object.__setattr__(self, "terms", tuple(terms))
        seen_bodies = set()
        kinds = {}
        for term in self.terms:
            if isinstance(term, PointMass):
                b = _body(term.body).name
                if b in seen_bodies:
                    raise ValueError(f"ForceModel: two point-mass terms for {b}")
                seen_bodies.add(b)
            elif isinstance(term, (EarthZonal, LunarGravityField, SRP)):
                kind = type(term).__name__
                if kind in kinds:
                    raise ValueError(f"ForceModel: at most one {kind} term")
                kinds[kind] = term
            else:
                raise TypeError(
                    f"ForceModel term {term!r}: expected PointMass, ThirdBody, EarthZonal, "
                    "LunarGravityField or SRP"
                )

    def __add__(self, other):
        other_terms = other.terms if isinstance(other, ForceModel) else (other,)
        return ForceModel(self.terms + tuple(other_terms))

    def has_point_mass(self, body: Body | str) -> bool:
        name = _body(body).name
        return any(isinstance(t, PointMass) and _body(t.body).name == name for t in self.terms)

    def srp(self) -> SRP | None:
        for t in self.terms:
            if isinstance(t, SRP):
                return t
        return None

    def acceleration(self, r_km, v_km_s, epoch, center: str = "earth") -> np.ndarray:
        """Acceleration (km/s^2) for states (n, 3) at one epoch (astropy Time),
        relative to ``center`` ("earth": GCRS, "moon": MCI)."""
        r = np.atleast_2d(np.asarray(r_km, dtype=float))
        v = np.atleast_2d(np.asarray(v_km_s, dtype=float))
        e = epoch.tdb
        cm = compile_model(self, float(e.jd1), float(e.jd2), -3600.0, 3600.0)
        objf = object_parameters(self, r.shape[0])
        c = _center_index(center)
        out = np.empty_like(r)
        from propagators.numerical import _accel_batch  # compiled kernels live there

        _accel_batch(0.0, r, v, c, cm, objf, out)
        return out[0] if np.ndim(r_km) == 1 else out


def _center_index(center: str) -> int:
    name = str(center).lower()
    if name not in ("earth", "moon"):
        raise ValueError(f"center {center!r}: expected 'earth' or 'moon'")
    return EARTH_INDEX if name == "earth" else MOON_INDEX


def object_parameters(model: ForceModel, n: int) -> np.ndarray:
    """Per-object parameters (n, 2): Cr, area/mass (m^2/kg)."""
    objf = np.zeros((n, 2))
    srp = model.srp()
    if srp is not None:
        for col, name, value in ((0, "cr", srp.cr), (1, "area_to_mass_m2_kg", srp.area_to_mass_m2_kg)):
            arr = np.asarray(value, dtype=float)
            if arr.ndim > 1 or (arr.ndim == 1 and arr.size not in (1, n)):
                raise ValueError(f"SRP {name} has shape {arr.shape}: expected a scalar or one value per object ({n})")
            objf[:, col] = arr
    return objf


# ---------------------------------------------------------------------------
# Ephemeris tables (DE421 Chebyshev records) and the compiled model

_SEG_KEYS = {"emb_moon": (3, 301), "emb_earth": (3, 399), "ssb_emb": (0, 3), "ssb_sun": (0, 10)}


@lru_cache(maxsize=1)
def _de421_spk():
    from jplephem.spk import SPK

    return SPK.open(str(de421_path()))


def _reexpand(coef_long: np.ndarray, q: int, ratio: int, n: int) -> np.ndarray:
    """Chebyshev coefficients (3, n) on sub-interval q of ``ratio`` equal parts
    of a record with coefficients ``coef_long`` (3, m), m <= n: the polynomial
    sampled at n Chebyshev nodes of the sub-interval and transformed back
    (exact for degree < n, up to rounding)."""
    j = np.arange(n)
    theta = np.pi * (j + 0.5) / n
    s_sub = np.cos(theta)
    s_long = (q + 0.5 * (s_sub + 1.0)) / ratio * 2.0 - 1.0
    values = np.polynomial.chebyshev.chebval(s_long, coef_long.T)  # (3, n)
    m = np.arange(n)
    basis = np.cos(np.outer(m, theta))  # (n modes, n nodes)
    out = 2.0 / n * values @ basis.T
    out[:, 0] *= 0.5
    return out


def ephemeris_tables(epoch_jd_tdb1: float, epoch_jd_tdb2: float, t_min_s: float, t_max_s: float):
    """Geocentric Moon and Sun from DE421 as Chebyshev series on DE421's own
    4-day Earth records covering the span.

    * segment 0, Moon - Earth = (EMB->Moon) - (EMB->Earth): both on the same
      4-day records, coefficients subtracted;
    * segment 1, Sun - Earth = (SSB->Sun) - (SSB->EMB) - (EMB->Earth): the
      16-day SSB records re-expanded on each 4-day sub-record (a polynomial of
      degree <= 12 interpolated at 13 Chebyshev nodes, exact to rounding,
      ~1e-8 km at 1 au), then summed.

    Two Clenshaw evaluations per call instead of five.  Returns ``coef (2,
    nrec, 3, ncoef)``, ``start_s (2,)``, ``length_s (2,)``, ``nrec (2,)``,
    ``ncoef (2,)``; times in TDB seconds from the epoch.  Raises
    ``EphemerisRangeError`` outside DE421.
    """
    spk = _de421_spk()
    jd0 = epoch_jd_tdb1 + epoch_jd_tdb2
    jd_lo = jd0 + t_min_s / SECONDS_PER_DAY
    jd_hi = jd0 + t_max_s / SECONDS_PER_DAY
    arrays = {}
    for name, key in _SEG_KEYS.items():
        seg = spk[key]
        if jd_lo < seg.start_jd or jd_hi > seg.end_jd:
            raise EphemerisRangeError(
                f"{de421_path().name} covers JD(TDB) {seg.start_jd} to {seg.end_jd}; "
                f"asked for {jd_lo} to {jd_hi}",
                start_jd=seg.start_jd,
                end_jd=seg.end_jd,
                jd=jd_lo if jd_lo < seg.start_jd else jd_hi,
            )
        arrays[name] = seg.load_array()  # init_jd, interval_days, coefficients (3, nrec, ncoef)
    init_jd, intlen_days, earth = arrays["emb_earth"]
    moon_init, moon_len, moon = arrays["emb_moon"]
    if (moon_init, moon_len) != (init_jd, intlen_days):
        raise EphemerisRangeError(
            f"{de421_path().name}: Moon and Earth records are not aligned", start_jd=init_jd, end_jd=init_jd, jd=moon_init
        )
    intlen_s = intlen_days * SECONDS_PER_DAY
    approx_start_s = ((init_jd - epoch_jd_tdb1) - epoch_jd_tdb2) * SECONDS_PER_DAY
    k_lo = max(int(np.floor((t_min_s - approx_start_s) / intlen_s)) - 1, 0)
    k_hi = min(int(np.floor((t_max_s - approx_start_s) / intlen_s)) + 2, earth.shape[1])
    n = max(earth.shape[2], moon.shape[2], arrays["ssb_sun"][2].shape[2], arrays["ssb_emb"][2].shape[2])
    nrec = k_hi - k_lo
    coef = np.zeros((2, nrec, 3, n))
    coef[0, :, :, : moon.shape[2]] = np.transpose(moon[:, k_lo:k_hi, :], (1, 0, 2))
    coef[0, :, :, : earth.shape[2]] -= np.transpose(earth[:, k_lo:k_hi, :], (1, 0, 2))
    coef[1, :, :, : earth.shape[2]] = -np.transpose(earth[:, k_lo:k_hi, :], (1, 0, 2))
    for name, sign in (("ssb_sun", 1.0), ("ssb_emb", -1.0)):
        s_init, s_len, s_coef = arrays[name]
        ratio = int(round(s_len / intlen_days))
        if s_init != init_jd or abs(s_len - ratio * intlen_days) > 0:
            raise EphemerisRangeError(
                f"{de421_path().name}: {name} records are not a multiple of the Earth records",
                start_jd=s_init, end_jd=s_init, jd=s_init,
            )
        for i, k in enumerate(range(k_lo, k_hi)):
            coef[1, i] += sign * _reexpand(s_coef[:, k // ratio, :], k % ratio, ratio, n)
    # Record start minus the epoch: the whole-day difference first (exact),
    # then the fraction, so the offset keeps sub-nanosecond precision.
    rec_start_s = ((init_jd + k_lo * intlen_days) - epoch_jd_tdb1 - epoch_jd_tdb2) * SECONDS_PER_DAY
    return (
        coef,
        np.array([rec_start_s, rec_start_s]),
        np.array([intlen_s, intlen_s]),
        np.array([nrec, nrec]),
        np.array([n, n]),
    )


def earth_pole_table(epoch_jd_tdb1: float, epoch_jd_tdb2: float, t_s: np.ndarray) -> np.ndarray:
    """CIP unit vectors in GCRS at TDB seconds ``t_s`` from the epoch: third
    row of ERFA's bias-precession-nutation matrix (IAU 2006/2000A)."""
    import erfa

    npb = erfa.pnm06a(np.full(t_s.size, epoch_jd_tdb1), epoch_jd_tdb2 + t_s / SECONDS_PER_DAY)
    return np.ascontiguousarray(npb[:, 2, :])


def tt_rate_table(epoch_jd_tdb1: float, epoch_jd_tdb2: float, t_s: np.ndarray) -> np.ndarray:
    """L = d(TDB - TT)/dTT at TDB seconds ``t_s`` from the epoch (ERFA
    ``dtdb``, Fairhead & Bretagnon series, geocentre; central difference over
    one day).  |L| <= 3.3e-10, mostly annual.  The propagator uses it to
    integrate geocentric dynamics at the TT rate while keeping TDB as the time
    argument (see ``numerical``)."""
    import erfa

    half_day = 0.5
    d1 = np.full(t_s.size, epoch_jd_tdb1)
    d2 = epoch_jd_tdb2 + t_s / SECONDS_PER_DAY
    zero = np.zeros(t_s.size)
    plus = erfa.dtdb(d1, d2 + half_day, zero, zero, zero, zero)
    minus = erfa.dtdb(d1, d2 - half_day, zero, zero, zero, zero)
    return (plus - minus) / (2.0 * half_day * SECONDS_PER_DAY)


#: The force model flattened for the compiled kernels: seven arrays, so that
#: passing it between compiled functions costs a handful of reference counts
#: (a namedtuple of thirty arrays cost ~0.2 us per call).
#:
#: * ``ti`` int64 (k, 4): term code, body index, degree (or shadow model), order
#: * ``tf`` float64 (k, 12): GM, reference radius, P_1au (N/m^2), au (km),
#:   then J0..J6 for the Earth zonal term
#: * ``eph`` float64 (2, nrec, 3, ncoef): geocentric Moon and Sun Chebyshev
#:   records (ascending degree), see ``ephemeris_tables``
#: * ``tab`` float64 (n, 4): Earth CIP unit vector and L = d(TDB-TT)/dTT every
#:   ``_TAB_STEP_S``, linear interpolation
#: * ``sh`` float64 (9, N+2, N+2): lunar field C, S and the recursion factors
#:   alpha, beta, fa, fb, fz, gsec (row 0), f1 (row 0)
#: * ``pa`` float64 (nrec, 3, ncoef): lunar PA Euler-angle records
#: * ``misc`` float64 (32,): see the ``_MI_*`` offsets
CompiledModel = namedtuple("CompiledModel", ["ti", "tf", "eph", "tab", "sh", "pa", "misc"])

_TAB_STEP_S = 21600.0
_MI_EPH_START, _MI_EPH_LEN, _MI_EPH_NREC, _MI_EPH_NCOEF = 0, 4, 8, 12
_MI_TAB_T0, _MI_TAB_DT, _MI_PA_START, _MI_PA_LEN = 16, 17, 18, 19
_MI_RADII, _MI_NEED_MOON, _MI_NEED_SUN, _MI_SH_NMAX = 20, 23, 24, 25
_TF_GM, _TF_RADIUS, _TF_PRESSURE, _TF_AU, _TF_J0 = 0, 1, 2, 3, 4


def compile_model(model: ForceModel, epoch_jd_tdb1: float, epoch_jd_tdb2: float, t_min_s: float, t_max_s: float) -> CompiledModel:
    """Flatten a ``ForceModel`` into arrays for the compiled kernels, with
    ephemeris, orientation and time-rate tables covering [t_min_s, t_max_s]."""
    k = len(model.terms)
    ti = np.zeros((max(k, 1), 4), dtype=np.int64)
    tf = np.zeros((max(k, 1), 12))
    sh_field = None
    need_moon = False
    need_sun = False
    for i, term in enumerate(model.terms):
        if isinstance(term, PointMass):
            b = _body(term.body)
            ti[i, :2] = _POINT_MASS, b.index
            tf[i, _TF_GM] = term.gm()
            need_moon |= b.index == MOON_INDEX
            need_sun |= b.index == SUN_INDEX
        elif isinstance(term, EarthZonal):
            ti[i, :3] = _ZONAL, EARTH_INDEX, int(term.degree)
            tf[i, _TF_GM] = term.gm_km3_s2
            tf[i, _TF_RADIUS] = term.radius_km
            tf[i, _TF_J0:_TF_J0 + 7] = term.j_coefficients()
        elif isinstance(term, LunarGravityField):
            sh_field = term.field()
            ti[i] = _HARMONICS, MOON_INDEX, sh_field.degree, sh_field.order
            tf[i, _TF_GM] = sh_field.gm_km3_s2
            tf[i, _TF_RADIUS] = sh_field.radius_km
            need_moon = True
        elif isinstance(term, SRP):
            ti[i, :3] = _SRP, SUN_INDEX, _SHADOW_CODES[term.shadow]
            tf[i, _TF_PRESSURE] = term.pressure_1au_n_m2
            tf[i, _TF_AU] = AU_KM
            need_moon = True
            need_sun = True
    if k == 0:
        ti[0, 0] = 0  # no term: zero acceleration
    margin_s = 86400.0
    lo, hi = t_min_s - margin_s, t_max_s + margin_s
    coef, start, length, nrec, ncoef = ephemeris_tables(epoch_jd_tdb1, epoch_jd_tdb2, lo, hi)
    misc = np.zeros(32)
    misc[_MI_EPH_START:_MI_EPH_START + 2] = start
    misc[_MI_EPH_LEN:_MI_EPH_LEN + 2] = length
    misc[_MI_EPH_NREC:_MI_EPH_NREC + 2] = nrec
    misc[_MI_EPH_NCOEF:_MI_EPH_NCOEF + 2] = ncoef
    # Earth pole and TT rate on one 6-h grid
    n_tab = int(np.ceil((hi - lo) / _TAB_STEP_S)) + 3
    t_tab = lo - _TAB_STEP_S + _TAB_STEP_S * np.arange(n_tab)
    tab = np.zeros((n_tab, 4))
    if any(isinstance(t, EarthZonal) for t in model.terms):
        tab[:, :3] = earth_pole_table(epoch_jd_tdb1, epoch_jd_tdb2, t_tab)
    else:
        tab[:, 2] = 1.0
    tab[:, 3] = tt_rate_table(epoch_jd_tdb1, epoch_jd_tdb2, t_tab)
    misc[_MI_TAB_T0] = t_tab[0]
    misc[_MI_TAB_DT] = _TAB_STEP_S
    if sh_field is not None:
        pa_rec = moon_pa_records(epoch_jd_tdb1, epoch_jd_tdb2, lo, hi)
        pa = np.array(pa_rec.coef, dtype=np.float64, order="C", copy=True)
        misc[_MI_PA_START] = pa_rec.start_s
        misc[_MI_PA_LEN] = pa_rec.length_s
        nmax = sh_field.degree
    else:
        pa = np.zeros((1, 3, 1))
        misc[_MI_PA_LEN] = 1.0
        nmax = 2
    fac = recursion_factors(nmax)
    size = nmax + 2
    sh = np.zeros((9, size, size))
    if sh_field is not None:
        sh[0, : nmax + 1, : nmax + 1] = sh_field.c_bar
        sh[1, : nmax + 1, : nmax + 1] = sh_field.s_bar
    for plane, name in enumerate(("alpha", "beta", "fa", "fb", "fz"), start=2):
        sh[plane] = fac[name]
    sh[7, 0] = fac["gsec"]
    sh[8, 0] = fac["f1"]
    misc[_MI_RADII:_MI_RADII + 3] = EARTH.radius_km, MOON.radius_km, SUN.radius_km
    misc[_MI_NEED_MOON] = float(need_moon)
    misc[_MI_NEED_SUN] = float(need_sun)
    misc[_MI_SH_NMAX] = nmax
    return CompiledModel(ti, tf, np.ascontiguousarray(coef), tab, sh, pa, misc)


def compiled_body_positions(M: CompiledModel, t_tdb_s: np.ndarray):
    """Moon and Sun relative to Earth (km, ICRF) as the compiled kernels see
    them, for checks against jplephem."""
    from propagators.numerical import _moon_sun_batch

    t = np.ascontiguousarray(np.atleast_1d(t_tdb_s), dtype=float)
    moon = np.empty((t.size, 3))
    sun = np.empty((t.size, 3))
    _moon_sun_batch(M, t, moon, sun)
    return moon, sun
