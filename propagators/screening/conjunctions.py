"""Object-versus-object conjunction screening over a horizon.

Inputs are sampled states in GCRS, ``r_gcrs_km``/``v_gcrs_km_s`` shaped
``(n_objects, n_times, 3)`` at ``t_s`` (seconds from one named epoch, strictly
increasing).  Between two samples every object moves along the cubic Hermite
interpolant of its sampled positions and velocities; that interpolant is what
is screened.  Its position error for a Keplerian arc is about
``|d4r/dt4| h**4 / 384`` (``omega**4 * r * h**4 / 384`` on a circle): 0.4 m for
LEO at h = 60 s, 0.4 m for GEO at h = 600 s, 6 m for LEO at 120 s.  Choose the
sampling step so that this stays well under the threshold.

Pipeline, per interval ``[t_k, t_k+1]`` (all inside one numba kernel):

1. Apogee/perigee overlap: each object's sampled radial range over the chunk,
   padded by its own motion bound (step 2), must overlap the other's within
   the threshold ``D``.
2. Bounding balls: the Hermite arc is a cubic Bezier curve with control points
   ``P0 = r0, P1 = r0 + h v0 / 3, P2 = r1 - h v1 / 3, P3 = r1`` and lies in their
   convex hull, hence in the ball ``B(c, rho)`` about the box centre of the
   control points.  Two arcs can come within ``D`` only if
   ``|c_i - c_j| <= rho_i + rho_j + D``.  ``rho`` is at least ``|v| h / 2``, so
   this pad is never smaller than the usual ``v_rel,max h / 2 + D``; it is
   rigorous, not a heuristic.
3. Spatial hash grid of the ball centres with cells of ``2 rho_cut + D``
   (``rho_cut`` a quantile of ``rho``): two "small" objects that pass test 2
   are in the same or adjacent cells.  The few objects with ``rho > rho_cut``
   query a box of cells sized for their own ``rho``; big-versus-big pairs are
   tested directly.  No ``(n, n)`` array is ever formed.
4. Relative hull: the relative arc is the Bezier curve of the control-point
   differences; if a plane separates their hull from the ball of radius ``D``
   about the origin the pair is rejected.
5. Exact closest approach: range-rate ``g(s) = dp . dp'`` of the relative cubic
   is a quintic in ``s = (t - t_k) / h``; all its roots on ``[0, 1]`` are
   isolated by the derivative cascade (the roots of a polynomial are separated
   by those of its derivative) and polished by bisection.  Each sign change
   from approaching to receding is a time of closest approach; those with a
   miss distance ``<= D`` are reported.

Because steps 1-4 only discard pairs whose Hermite arcs provably stay farther
apart than ``D``, and step 5 is exact on the Hermite arcs, no approach below
the threshold between samples is missed.  Minima exactly at a sample belong to
the interval that ends there (sample values, not polynomial sums, decide the
sign at the ends), so chunk and interval boundaries neither drop nor duplicate
an event.  At the start and end of the horizon, a pair inside the threshold
and receding (start) or approaching (end) is reported with
``at_window_edge=True`` (its true TCA lies outside the horizon).

Objects with a NaN sample are skipped on the intervals that touch it (no
exception per object); a pair can only be screened where both have states.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numba
import numpy as np

from propagators.errors import ConfigError

# --------------------------------------------------------------------------
# output

CONJUNCTION_DTYPE = np.dtype(
    [
        ("i", np.int64),
        ("j", np.int64),
        ("tca_s", np.float64),
        ("miss_km", np.float64),
        ("relative_speed_km_s", np.float64),
        ("r_i_gcrs_km", np.float64, (3,)),
        ("v_i_gcrs_km_s", np.float64, (3,)),
        ("r_j_gcrs_km", np.float64, (3,)),
        ("v_j_gcrs_km_s", np.float64, (3,)),
        ("at_window_edge", np.bool_),
    ]
)


@dataclass(frozen=True)
class Conjunction:
    """One close approach between objects ``i < j`` (indices into the state
    arrays).  Velocities at TCA are Hermite derivatives (error ~h**3, an order
    worse than positions)."""

    i: int
    j: int
    tca_s: float
    miss_km: float
    relative_speed_km_s: float
    r_i_gcrs_km: np.ndarray = field(compare=False)
    v_i_gcrs_km_s: np.ndarray = field(compare=False)
    r_j_gcrs_km: np.ndarray = field(compare=False)
    v_j_gcrs_km_s: np.ndarray = field(compare=False)
    at_window_edge: bool = False


def conjunctions_from_table(table: np.ndarray) -> list[Conjunction]:
    """The structured array from ``screen_conjunctions`` as dataclasses."""
    return [
        Conjunction(
            int(row["i"]),
            int(row["j"]),
            float(row["tca_s"]),
            float(row["miss_km"]),
            float(row["relative_speed_km_s"]),
            row["r_i_gcrs_km"].copy(),
            row["v_i_gcrs_km_s"].copy(),
            row["r_j_gcrs_km"].copy(),
            row["v_j_gcrs_km_s"].copy(),
            bool(row["at_window_edge"]),
        )
        for row in table
    ]


# --------------------------------------------------------------------------
# Hermite arcs (numpy, public: regions and proximity use them too)


def hermite_position(r0, v0, r1, v1, h, s):
    """Cubic Hermite position at fraction ``s`` of an interval of ``h`` s.

    Arrays broadcast; ``s`` is dimensionless in ``[0, 1]``.
    """
    s = np.asarray(s, dtype=float)[..., None] if np.ndim(s) else float(s)
    h = np.asarray(h, dtype=float)[..., None] if np.ndim(h) else float(h)
    s2 = s * s
    s3 = s2 * s
    return (
        (2 * s3 - 3 * s2 + 1) * r0
        + (s3 - 2 * s2 + s) * h * v0
        + (-2 * s3 + 3 * s2) * r1
        + (s3 - s2) * h * v1
    )


def hermite_velocity(r0, v0, r1, v1, h, s):
    """Time derivative (km/s) of ``hermite_position``."""
    s = np.asarray(s, dtype=float)[..., None] if np.ndim(s) else float(s)
    h = np.asarray(h, dtype=float)[..., None] if np.ndim(h) else float(h)
    s2 = s * s
    return (
        (6 * s2 - 6 * s) * r0 / h
        + (3 * s2 - 4 * s + 1) * v0
        + (-6 * s2 + 6 * s) * r1 / h
        + (3 * s2 - 2 * s) * v1
    )


def bezier_control_points(r0, v0, r1, v1, h):
    """Control points ``(..., 4, 3)`` of the Hermite arc (convex-hull bound)."""
    h = np.asarray(h, dtype=float)[..., None] if np.ndim(h) else float(h)
    return np.stack([r0, r0 + h * v0 / 3.0, r1 - h * v1 / 3.0, r1], axis=-2)


# --------------------------------------------------------------------------
# numba kernels

_NB = dict(cache=True, nogil=True)
_NBI = dict(cache=True, nogil=True, inline="always")


@numba.njit(**_NB)
def _horner(c, deg, s):
    acc = 0.0
    for p in range(deg, -1, -1):
        acc = acc * s + c[p]
    return acc


@numba.njit(**_NB)
def _bisect(c, deg, a, b, fa):
    """Root of the polynomial ``c`` in ``[a, b]`` with a sign change; ``fa``
    is its value at ``a``."""
    for _ in range(80):
        m = 0.5 * (a + b)
        if m <= a or m >= b:
            break
        fm = _horner(c, deg, m)
        if (fm < 0.0) == (fa < 0.0) and fm != 0.0:
            a = m
            fa = fm
        else:
            b = m
    return 0.5 * (a + b)


@numba.njit(**_NB)
def _quintic_minima(g, g0, g1, out, d, crit, pts, newcrit):
    """Local minima of ``f`` with ``f' ~ g`` (quintic, ascending coefficients)
    on ``(0, 1]``: points where ``g`` goes from < 0 to >= 0.

    All real roots on [0, 1] are isolated by the derivative cascade: between
    two consecutive roots of ``g^(m+1)`` the polynomial ``g^(m)`` is monotone,
    so it has at most one root there, bracketed and bisected to round-off.
    ``g0``/``g1`` are the values at 0 and 1 taken from the samples (so both
    neighbouring intervals see the same sign at their shared end).  Writes up
    to 3 roots to ``out``; returns their number.  ``d, crit, pts, newcrit``
    are scratch arrays (5x6, 6, 8, 6).
    """
    for p in range(6):
        d[0, p] = g[p]
    for lev in range(1, 5):
        for p in range(6):
            d[lev, p] = (p + 1) * d[lev - 1, p + 1] if p < 5 - lev + 1 else 0.0
    ncrit = 0
    if d[4, 1] != 0.0:
        s = -d[4, 0] / d[4, 1]
        if 0.0 < s < 1.0:
            crit[0] = s
            ncrit = 1
    for lev in range(3, 0, -1):
        deg = 5 - lev
        pts[0] = 0.0
        for q in range(ncrit):
            pts[q + 1] = crit[q]
        pts[ncrit + 1] = 1.0
        nnew = 0
        for q in range(ncrit + 1):
            a = pts[q]
            b = pts[q + 1]
            if b <= a:
                continue
            fa = _horner(d[lev], deg, a)
            fb = _horner(d[lev], deg, b)
            if fa == 0.0:
                if a > 0.0 and (nnew == 0 or newcrit[nnew - 1] < a):
                    newcrit[nnew] = a
                    nnew += 1
            elif (fa < 0.0) != (fb < 0.0) and fb != 0.0:
                newcrit[nnew] = _bisect(d[lev], deg, a, b, fa)
                nnew += 1
        for q in range(nnew):
            crit[q] = newcrit[q]
        ncrit = nnew
    pts[0] = 0.0
    for q in range(ncrit):
        pts[q + 1] = crit[q]
    pts[ncrit + 1] = 1.0
    nout = 0
    for q in range(ncrit + 1):
        a = pts[q]
        b = pts[q + 1]
        if b <= a:
            continue
        fa = g0 if a == 0.0 else _horner(d[0], 5, a)
        fb = g1 if b == 1.0 else _horner(d[0], 5, b)
        if fa < 0.0 and fb >= 0.0:
            if fb == 0.0:
                out[nout] = b
            else:
                out[nout] = _bisect(d[0], 5, a, b, fa)
            nout += 1
    return nout


@numba.njit(**_NBI)
def _hull_rejects(pi0, wi0, pi1, wi1, pj0, wj0, pj1, wj1, h, thr):
    """True when a plane separates the relative Bezier hull of two Hermite
    arcs (ends ``p``, velocities ``w``, duration ``h``) from the ball of
    radius ``thr`` about the origin: the arcs never come within ``thr``."""
    a0x = pi0[0] - pj0[0]
    a0y = pi0[1] - pj0[1]
    a0z = pi0[2] - pj0[2]
    a3x = pi1[0] - pj1[0]
    a3y = pi1[1] - pj1[1]
    a3z = pi1[2] - pj1[2]
    ex = a3x - a0x
    ey = a3y - a0y
    ez = a3z - a0z
    ee = ex * ex + ey * ey + ez * ez
    lam = 0.0
    if ee > 0.0:
        lam = -(a0x * ex + a0y * ey + a0z * ez) / ee
        lam = min(1.0, max(0.0, lam))
    qx = a0x + lam * ex
    qy = a0y + lam * ey
    qz = a0z + lam * ez
    qn = math.sqrt(qx * qx + qy * qy + qz * qz)
    if not qn > thr:
        return False
    ux = qx / qn
    uy = qy / qn
    uz = qz / qn
    h3 = h / 3.0
    m0 = a0x * ux + a0y * uy + a0z * uz
    m3 = a3x * ux + a3y * uy + a3z * uz
    m1 = m0 + h3 * ((wi0[0] - wj0[0]) * ux + (wi0[1] - wj0[1]) * uy + (wi0[2] - wj0[2]) * uz)
    m2 = m3 - h3 * ((wi1[0] - wj1[0]) * ux + (wi1[1] - wj1[1]) * uy + (wi1[2] - wj1[2]) * uz)
    return min(min(m0, m1), min(m2, m3)) > thr


@numba.njit(**_NB)
def _pair_exact(ri0, vi0, ri1, vi1, rj0, vj0, rj1, vj1, h, thr, first, last, ws, d, out_s, out_miss, out_edge):
    """Closest approaches of two Hermite arcs on one interval, ``miss <= thr``.

    Range-rate of the relative cubic is a quintic in ``s``; its minima come
    from ``_quintic_minima``.  Returns the number written to ``out_*`` (<= 5).
    ``ws`` (>= 40) and ``d`` (5x6) are scratch.
    """
    h3 = h / 3.0
    g = ws[0:6]
    roots = ws[6:9]
    crit = ws[9:15]
    pts = ws[15:23]
    newcrit = ws[23:29]
    A = ws[29:32]
    B = ws[32:35]
    C = ws[35:38]
    D = ws[38:41]
    g0 = 0.0
    g1 = 0.0
    for a in range(3):
        p0 = ri0[a] - rj0[a]
        p3 = ri1[a] - rj1[a]
        w0 = vi0[a] - vj0[a]
        w1 = vi1[a] - vj1[a]
        p1 = p0 + h3 * w0
        p2 = p3 - h3 * w1
        A[a] = p0
        B[a] = 3.0 * (p1 - p0)
        C[a] = 3.0 * (p0 - 2.0 * p1 + p2)
        D[a] = p3 - 3.0 * p2 + 3.0 * p1 - p0
        g0 += p0 * w0
        g1 += p3 * w1
    # range-rate sign at the ends from the samples themselves
    g0 *= h
    g1 *= h
    AB = A[0] * B[0] + A[1] * B[1] + A[2] * B[2]
    AC = A[0] * C[0] + A[1] * C[1] + A[2] * C[2]
    AD = A[0] * D[0] + A[1] * D[1] + A[2] * D[2]
    BB = B[0] * B[0] + B[1] * B[1] + B[2] * B[2]
    BC = B[0] * C[0] + B[1] * C[1] + B[2] * C[2]
    BD = B[0] * D[0] + B[1] * D[1] + B[2] * D[2]
    CC = C[0] * C[0] + C[1] * C[1] + C[2] * C[2]
    CD = C[0] * D[0] + C[1] * D[1] + C[2] * D[2]
    DD = D[0] * D[0] + D[1] * D[1] + D[2] * D[2]
    g[0] = AB
    g[1] = 2.0 * AC + BB
    g[2] = 3.0 * (AD + BC)
    g[3] = 4.0 * BD + 2.0 * CC
    g[4] = 5.0 * CD
    g[5] = 3.0 * DD
    nr = _quintic_minima(g, g0, g1, roots, d, crit, pts, newcrit)
    n = 0
    thr2 = thr * thr
    if first:
        r2 = A[0] * A[0] + A[1] * A[1] + A[2] * A[2]
        if g0 >= 0.0 and r2 <= thr2:
            out_s[n] = 0.0
            out_miss[n] = math.sqrt(r2)
            out_edge[n] = True
            n += 1
    for q in range(nr):
        s = roots[q]
        x = A[0] + s * (B[0] + s * (C[0] + s * D[0]))
        y = A[1] + s * (B[1] + s * (C[1] + s * D[1]))
        z = A[2] + s * (B[2] + s * (C[2] + s * D[2]))
        r2 = x * x + y * y + z * z
        if r2 <= thr2:
            out_s[n] = s
            out_miss[n] = math.sqrt(r2)
            out_edge[n] = False
            n += 1
    if last:
        x = ri1[0] - rj1[0]
        y = ri1[1] - rj1[1]
        z = ri1[2] - rj1[2]
        r2 = x * x + y * y + z * z
        if g1 < 0.0 and r2 <= thr2:
            out_s[n] = 1.0
            out_miss[n] = math.sqrt(r2)
            out_edge[n] = True
            n += 1
    return n


@numba.njit(**_NB)
def _push(buf, nbuf, i, j, k, s, miss, edge):
    if nbuf >= buf.shape[0]:
        new = np.empty((2 * buf.shape[0], 6))
        new[: buf.shape[0]] = buf
        buf = new
    buf[nbuf, 0] = i
    buf[nbuf, 1] = j
    buf[nbuf, 2] = k
    buf[nbuf, 3] = s
    buf[nbuf, 4] = miss
    buf[nbuf, 5] = 1.0 if edge else 0.0
    return buf, nbuf + 1


@numba.njit(**_NB)
def _hull_rejects_pk(pk, a, b, thr):
    """``_hull_rejects`` on packed rows (control points in columns 6-17)."""
    a0x = pk[a, 6] - pk[b, 6]
    a0y = pk[a, 7] - pk[b, 7]
    a0z = pk[a, 8] - pk[b, 8]
    a3x = pk[a, 15] - pk[b, 15]
    a3y = pk[a, 16] - pk[b, 16]
    a3z = pk[a, 17] - pk[b, 17]
    ex = a3x - a0x
    ey = a3y - a0y
    ez = a3z - a0z
    ee = ex * ex + ey * ey + ez * ez
    lam = 0.0
    if ee > 0.0:
        lam = -(a0x * ex + a0y * ey + a0z * ez) / ee
        lam = min(1.0, max(0.0, lam))
    qx = a0x + lam * ex
    qy = a0y + lam * ey
    qz = a0z + lam * ez
    qn = math.sqrt(qx * qx + qy * qy + qz * qz)
    if not qn > thr:
        return False
    ux = qx / qn
    uy = qy / qn
    uz = qz / qn
    m0 = a0x * ux + a0y * uy + a0z * uz
    m3 = a3x * ux + a3y * uy + a3z * uz
    m1 = (pk[a, 9] - pk[b, 9]) * ux + (pk[a, 10] - pk[b, 10]) * uy + (pk[a, 11] - pk[b, 11]) * uz
    m2 = (pk[a, 12] - pk[b, 12]) * ux + (pk[a, 13] - pk[b, 13]) * uy + (pk[a, 14] - pk[b, 14]) * uz
    return min(min(m0, m1), min(m2, m3)) > thr


@numba.njit(**_NB)
def _pack(pk, row, o, q, hs, nr, nv, cen, rho, rlo, rhi, thr):
    """Row of the packed table: ball centre, rho + thr, rlo - thr, rhi and
    the four Bezier control points of sub-arc q of object o."""
    pk[row, 0] = cen[o, 0]
    pk[row, 1] = cen[o, 1]
    pk[row, 2] = cen[o, 2]
    pk[row, 3] = rho[o] + thr
    pk[row, 4] = rlo[o] - thr
    pk[row, 5] = rhi[o]
    h3 = hs / 3.0
    for a in range(3):
        p0 = nr[q, o, a]
        p3 = nr[q + 1, o, a]
        pk[row, 6 + a] = p0
        pk[row, 9 + a] = p0 + h3 * nv[q, o, a]
        pk[row, 12 + a] = p3 - h3 * nv[q + 1, o, a]
        pk[row, 15 + a] = p3


@numba.njit(**_NB)
def _ball_ok(i, j, cen, rho, rlo, rhi, thr):
    """Apogee/perigee overlap, then bounding balls of the two sub-arcs."""
    if rlo[i] > rhi[j] + thr or rlo[j] > rhi[i] + thr:
        return False
    dx = cen[i, 0] - cen[j, 0]
    dy = cen[i, 1] - cen[j, 1]
    dz = cen[i, 2] - cen[j, 2]
    lim = rho[i] + rho[j] + thr
    return dx * dx + dy * dy + dz * dz <= lim * lim


@numba.njit(**_NB)
def _sub_hull_rejects(i, j, q, hs, nr, nv, thr):
    return _hull_rejects(nr[q, i], nv[q, i], nr[q + 1, i], nv[q + 1, i], nr[q, j], nv[q, j], nr[q + 1, j],
                         nv[q + 1, j], hs, thr)


@numba.njit(**_NB)
def _candidate(i, j, k, q, M, r, v, nr, nv, hs, h, thr, first, last, buf, nbuf, ws, d, out_s, out_m, out_e):
    """A pair that passed the ball and relative-hull tests on sub-arc ``q``
    of interval ``k``: exact closest approach on the whole interval, keep the
    minima whose ``s`` lies in this sub-arc (each minimum is reported by
    exactly one sub-arc)."""
    n = _pair_exact(r[i, k], v[i, k], r[i, k + 1], v[i, k + 1], r[j, k], v[j, k], r[j, k + 1], v[j, k + 1],
                    h, thr, first and q == 0, last and q == M - 1, ws, d, out_s, out_m, out_e)
    s_lo = q / M
    s_hi = (q + 1) / M
    a = min(i, j)
    b = max(i, j)
    for p in range(n):
        s = out_s[p]
        if (s > s_lo and s <= s_hi) or (q == 0 and s == 0.0):
            buf, nbuf = _push(buf, nbuf, a, b, k, s, out_m[p], out_e[p])
    return buf, nbuf


_KEY_OFF = 1 << 20
_KEY_MAX = (1 << 20) - 2
_KEY_MASK21 = (1 << 21) - 1


@numba.njit(**_NBI)
def _cell_key(ix, iy, iz):
    return ((ix + _KEY_OFF) << 42) | ((iy + _KEY_OFF) << 21) | (iz + _KEY_OFF)


@numba.njit(**_NBI)
def _slot(key, mask):
    # 64-bit mix (splitmix-style, wrapping int64 arithmetic) so that nearby
    # cells spread over the table; a plain multiply clusters structured keys
    x = key ^ (key >> 31)
    x = x * 0x7FB5D329728EA185
    x = x ^ (x >> 27)
    x = x * 0x1B873593
    x = x ^ (x >> 33)
    return x & mask


@numba.njit(**_NBI)
def _lookup(tkeys, mask, key):
    p = _slot(key, mask)
    while True:
        kk = tkeys[p]
        if kk == key:
            return p
        if kk == -1:
            return -1
        p = (p + 1) & mask


@numba.njit(**_NB)
def _build_grid(members, nm, cen, L, tkeys, tstart, tcount, order, occ, slot_of, nocc_prev):
    """Hash grid (open addressing, counting sort) of ``members[:nm]`` by
    ball centre, cells of size ``L``.  ``tkeys`` must be -1 except at the
    ``nocc_prev`` slots listed in ``occ`` (cleared here).  Returns nocc."""
    mask = tkeys.shape[0] - 1
    for q in range(nocc_prev):
        p = occ[q]
        tkeys[p] = -1
        tcount[p] = 0
    nocc = 0
    inv = 1.0 / L
    for a in range(nm):
        o = members[a]
        key = _cell_key(int(math.floor(cen[o, 0] * inv)), int(math.floor(cen[o, 1] * inv)),
                        int(math.floor(cen[o, 2] * inv)))
        p = _slot(key, mask)
        while True:
            kk = tkeys[p]
            if kk == key:
                break
            if kk == -1:
                tkeys[p] = key
                occ[nocc] = p
                nocc += 1
                break
            p = (p + 1) & mask
        tcount[p] += 1
        slot_of[a] = p
    acc = 0
    for q in range(nocc):
        p = occ[q]
        tstart[p] = acc
        acc += tcount[p]
    for a in range(nm):
        p = slot_of[a]
        order[tstart[p]] = members[a]
        tstart[p] += 1
    for q in range(nocc):
        p = occ[q]
        tstart[p] -= tcount[p]
    return nocc


@numba.njit(**_NB)
def _interval_nodes(r, v, k, h, M, nr, nv, valid, idx, nidx):
    """Hermite nodes at s = q/M (positions, velocities) on interval k of the
    objects ``idx[:nidx]``; ``valid`` is False for those with a NaN at
    either end."""
    for p in range(nidx):
        i = idx[p]
        ok = True
        for a in range(3):
            if not (math.isfinite(r[i, k, a]) and math.isfinite(r[i, k + 1, a])
                    and math.isfinite(v[i, k, a]) and math.isfinite(v[i, k + 1, a])):
                ok = False
        valid[i] = ok
        if not ok:
            continue
        for a in range(3):
            p0 = r[i, k, a]
            p1 = r[i, k + 1, a]
            w0 = v[i, k, a]
            w1 = v[i, k + 1, a]
            nr[0, i, a] = p0
            nv[0, i, a] = w0
            nr[M, i, a] = p1
            nv[M, i, a] = w1
            for q in range(1, M):
                s = q / M
                s2 = s * s
                s3 = s2 * s
                nr[q, i, a] = ((2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * h * w0
                               + (-2 * s3 + 3 * s2) * p1 + (s3 - s2) * h * w1)
                nv[q, i, a] = ((6 * s2 - 6 * s) * p0 / h + (3 * s2 - 4 * s + 1) * w0
                               + (-6 * s2 + 6 * s) * p1 / h + (3 * s2 - 2 * s) * w1)


@numba.njit(**_NB)
def _sub_balls(nr, nv, q, hs, valid, cen, rho, idx, nidx):
    """Bounding ball of sub-arc q of the objects ``idx[:nidx]``: box centre
    of its Bezier control points, radius the box half-diagonal (>= distance
    to every control point, so the ball holds the convex hull and the arc)."""
    h3 = hs / 3.0
    for p in range(nidx):
        i = idx[p]
        if not valid[i]:
            continue
        m = 0.0
        for a in range(3):
            p0 = nr[q, i, a]
            p3 = nr[q + 1, i, a]
            p1 = p0 + h3 * nv[q, i, a]
            p2 = p3 - h3 * nv[q + 1, i, a]
            lo = min(min(p0, p1), min(p2, p3))
            hi = max(max(p0, p1), max(p2, p3))
            cen[i, a] = 0.5 * (lo + hi)
            m += (0.5 * (hi - lo)) ** 2
        rho[i] = math.sqrt(m)


@numba.njit(**_NB)
def _screen_chunk(r, v, t, k_from, k_to, first_global, last_global, watch, use_watch, include,
                  rlo, rhi, thr, rho_quantile, M):
    """Screen intervals ``k_from <= k < k_to`` of one chunk of states, each
    split into ``M`` sub-arcs for the spatial stage.

    ``watch``: bool per object; with ``use_watch`` only pairs with at least
    one watch object are screened.  ``include``: objects that passed the
    chunk-level radial filter.  Returns an (n_events, 6) array of
    ``i, j, k, s, miss_km, edge``.
    """
    n = r.shape[0]
    buf = np.empty((64, 6))
    nbuf = 0
    nr = np.empty((M + 1, n, 3))
    nv = np.empty((M + 1, n, 3))
    valid = np.zeros(n, dtype=np.bool_)
    cen = np.empty((n, 3))
    rho = np.empty(n)
    ws = np.empty(48)
    dsc = np.empty((5, 6))
    out_s = np.empty(5)
    out_m = np.empty(5)
    out_e = np.empty(5, dtype=np.bool_)
    size = 16
    while size < 2 * n + 2:
        size *= 2
    tkeys = np.full(size, -1, dtype=np.int64)
    tstart = np.zeros(size, dtype=np.int64)
    tcount = np.zeros(size, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    occ = np.empty(n, dtype=np.int64)
    slot_of = np.empty(n, dtype=np.int64)
    mask = size - 1
    nocc = 0
    cand = np.empty(n, dtype=np.int64)
    small = np.empty(n, dtype=np.int64)
    big = np.empty(n, dtype=np.int64)
    wlist = np.empty(n, dtype=np.int64)
    rr = np.empty(n)
    pk = np.empty((n + 1, 18))  # row n: the current query object
    # the 13 forward neighbour cells of the half stencil (the 14th is the cell itself)
    offs = np.array(
        [[1, -1, -1], [1, -1, 0], [1, -1, 1], [1, 0, -1], [1, 0, 0], [1, 0, 1], [1, 1, -1], [1, 1, 0],
         [1, 1, 1], [0, 1, -1], [0, 1, 0], [0, 1, 1], [0, 0, 1]],
        dtype=np.int64,
    )
    # chunk-level lists: the watch objects, the catalogue (all included objects
    # in all-versus-all mode) and the catalogue's radial envelope
    widx = np.empty(n, dtype=np.int64)
    cidx = np.empty(n, dtype=np.int64)
    nwi = 0
    nci = 0
    cat_lo = np.inf
    cat_hi = -np.inf
    for i in range(n):
        if not include[i]:
            continue
        if use_watch and watch[i]:
            widx[nwi] = i
            nwi += 1
        else:
            cidx[nci] = i
            nci += 1
            cat_lo = min(cat_lo, rlo[i])
            cat_hi = max(cat_hi, rhi[i])
    sel = np.empty(n, dtype=np.int64)
    wlo = np.empty(n)
    whi = np.empty(n)
    nk = r.shape[1] - 1
    for k in range(k_from, k_to):
        h = t[k + 1] - t[k]
        hs = h / M
        first = first_global and k == 0
        last = last_global and k == nk - 1
        nw = 0
        nc = 0
        if use_watch:
            _interval_nodes(r, v, k, h, M, nr, nv, valid, widx, nwi)
            # radial reach of each watch object over the interval (balls of its sub-arcs)
            for p in range(nwi):
                wlo[p] = math.inf
                whi[p] = -math.inf
            for q in range(M):
                _sub_balls(nr, nv, q, hs, valid, cen, rho, widx, nwi)
                for p in range(nwi):
                    i = widx[p]
                    if valid[i]:
                        c = math.sqrt(cen[i, 0] ** 2 + cen[i, 1] ** 2 + cen[i, 2] ** 2)
                        wlo[p] = min(wlo[p], c - rho[i] - thr)
                        whi[p] = max(whi[p], c + rho[i] + thr)
            nnear = 0
            for p in range(nwi):
                i = widx[p]
                if not valid[i]:
                    continue
                wlist[nw] = i
                nw += 1
                if whi[p] >= cat_lo and wlo[p] <= cat_hi:
                    # compacted in place: nnear <= p
                    wlo[nnear] = wlo[p]
                    whi[nnear] = whi[p]
                    nnear += 1
            if nw == 0:
                continue
            # apogee/perigee filter: catalogue objects whose radial range over the
            # chunk meets the reach of a watch object near the catalogue
            nsel = 0
            if nnear > 0:
                for p in range(nci):
                    j = cidx[p]
                    for qn in range(nnear):
                        if rlo[j] <= whi[qn] and rhi[j] >= wlo[qn]:
                            sel[nsel] = j
                            nsel += 1
                            break
            _interval_nodes(r, v, k, h, M, nr, nv, valid, sel, nsel)
            for p in range(nsel):
                if valid[sel[p]]:
                    cand[nc] = sel[p]
                    nc += 1
        else:
            _interval_nodes(r, v, k, h, M, nr, nv, valid, cidx, nci)
            for p in range(nci):
                if valid[cidx[p]]:
                    cand[nc] = cidx[p]
                    nc += 1
        for q in range(M):
            _sub_balls(nr, nv, q, hs, valid, cen, rho, cand, nc)
            if use_watch:
                _sub_balls(nr, nv, q, hs, valid, cen, rho, wlist, nw)
            rho_cut = 0.0
            if nc > 0:
                for p in range(nc):
                    rr[p] = rho[cand[p]]
                qi = min(nc - 1, int(rho_quantile * (nc - 1) + 0.5))
                rho_cut = np.partition(rr[:nc], qi)[qi]
            cmax = 0.0
            for p in range(nc):
                for a in range(3):
                    cmax = max(cmax, abs(cen[cand[p], a]))
            for p in range(nw):
                for a in range(3):
                    cmax = max(cmax, abs(cen[wlist[p], a]))
            L = max(2.0 * rho_cut + thr, (cmax + 1.0) / _KEY_MAX)
            ns = 0
            nb = 0
            for p in range(nc):
                i = cand[p]
                if rho[i] <= rho_cut:
                    small[ns] = i
                    ns += 1
                else:
                    big[nb] = i
                    nb += 1
            nocc = _build_grid(small, ns, cen, L, tkeys, tstart, tcount, order, occ, slot_of, nocc)
            # grid members packed in cell order (centre, rho, radial range): the
            # inner loops read contiguous memory instead of gathering by index
            for p in range(ns):
                _pack(pk, p, order[p], q, hs, nr, nv, cen, rho, rlo, rhi, thr)
            if not use_watch:
                # small versus small through the half stencil (same cell: a < b)
                for qo in range(nocc):
                    p = occ[qo]
                    a0 = tstart[p]
                    a1 = a0 + tcount[p]
                    key = tkeys[p]
                    ix = (key >> 42) - _KEY_OFF
                    iy = ((key >> 21) & _KEY_MASK21) - _KEY_OFF
                    iz = (key & _KEY_MASK21) - _KEY_OFF
                    for dn in range(14):
                        if dn == 13:
                            pn = p
                        else:
                            pn = _lookup(tkeys, mask, _cell_key(ix + offs[dn, 0], iy + offs[dn, 1],
                                                                iz + offs[dn, 2]))
                            if pn < 0:
                                continue
                        b0 = tstart[pn]
                        b1 = b0 + tcount[pn]
                        for qa in range(a0, a1):
                            cx = pk[qa, 0]
                            cy = pk[qa, 1]
                            cz = pk[qa, 2]
                            ra = pk[qa, 3]
                            lo_a = pk[qa, 4]
                            hi_a = pk[qa, 5]
                            for qb in range(qa + 1 if dn == 13 else b0, b1):
                                # apogee/perigee overlap, then the bounding balls (thr folded in)
                                if lo_a > pk[qb, 5] or pk[qb, 4] > hi_a:
                                    continue
                                dx = cx - pk[qb, 0]
                                dy = cy - pk[qb, 1]
                                dz = cz - pk[qb, 2]
                                lim = ra + pk[qb, 3] - thr
                                if dx * dx + dy * dy + dz * dz > lim * lim:
                                    continue
                                if _hull_rejects_pk(pk, qa, qb, thr):
                                    continue
                                buf, nbuf = _candidate(order[qa], order[qb], k, q, M, r, v, nr, nv, hs, h, thr,
                                                       first, last, buf, nbuf, ws, dsc, out_s, out_m, out_e)
                queries = big
                nq = nb
            else:
                queries = wlist
                nq = nw
            # big (all-vs-all) or watch objects: query the cells their ball can reach
            for qq in range(nq):
                i = queries[qq]
                _pack(pk, n, i, q, hs, nr, nv, cen, rho, rlo, rhi, thr)
                R = rho[i] + rho_cut + thr
                cx = cen[i, 0]
                cy = cen[i, 1]
                cz = cen[i, 2]
                ra = rho[i] + thr
                lo_a = rlo[i] - thr
                hi_a = rhi[i]
                x0 = int(math.floor((cx - R) / L))
                x1 = int(math.floor((cx + R) / L))
                y0 = int(math.floor((cy - R) / L))
                y1 = int(math.floor((cy + R) / L))
                z0 = int(math.floor((cz - R) / L))
                z1 = int(math.floor((cz + R) / L))
                ncells = (x1 - x0 + 1) * (y1 - y0 + 1) * (z1 - z0 + 1)
                scan_all = ncells > ns
                nscan = 1 if scan_all else ncells
                for cell in range(nscan):
                    if scan_all:
                        # a ball larger than the grid's reach: scan the members directly
                        b0 = 0
                        b1 = ns
                    else:
                        iz = z0 + cell % (z1 - z0 + 1)
                        iy = y0 + (cell // (z1 - z0 + 1)) % (y1 - y0 + 1)
                        ix = x0 + cell // ((z1 - z0 + 1) * (y1 - y0 + 1))
                        pn = _lookup(tkeys, mask, _cell_key(ix, iy, iz))
                        if pn < 0:
                            continue
                        b0 = tstart[pn]
                        b1 = b0 + tcount[pn]
                    for qb in range(b0, b1):
                        if lo_a > pk[qb, 5] or pk[qb, 4] > hi_a:
                            continue
                        dx = cx - pk[qb, 0]
                        dy = cy - pk[qb, 1]
                        dz = cz - pk[qb, 2]
                        lim = ra + pk[qb, 3] - thr
                        if dx * dx + dy * dy + dz * dz > lim * lim:
                            continue
                        if _hull_rejects_pk(pk, n, qb, thr):
                            continue
                        buf, nbuf = _candidate(i, order[qb], k, q, M, r, v, nr, nv, hs, h, thr, first, last, buf,
                                               nbuf, ws, dsc, out_s, out_m, out_e)
                # versus the big catalogue objects, then (watch mode) the other watch objects
                for p in range(qq + 1 if not use_watch else 0, nb):
                    j = big[p]
                    if _ball_ok(i, j, cen, rho, rlo, rhi, thr) and not _sub_hull_rejects(i, j, q, hs, nr, nv, thr):
                        buf, nbuf = _candidate(i, j, k, q, M, r, v, nr, nv, hs, h, thr, first, last, buf, nbuf,
                                               ws, dsc, out_s, out_m, out_e)
                if use_watch:
                    for p in range(qq + 1, nw):
                        j = wlist[p]
                        if _ball_ok(i, j, cen, rho, rlo, rhi, thr) and not _sub_hull_rejects(i, j, q, hs, nr, nv,
                                                                                              thr):
                            buf, nbuf = _candidate(i, j, k, q, M, r, v, nr, nv, hs, h, thr, first, last, buf,
                                                   nbuf, ws, dsc, out_s, out_m, out_e)
    return buf[:nbuf].copy()


@numba.njit(**_NB)
def _radial_ranges(r, v, t):
    """Per object, the radial range of its Hermite arcs over the chunk,
    bounded by the ball of each interval: [min |c| - rho, max |c| + rho].
    NaN intervals are skipped; an object with none gets (inf, -inf)."""
    n = r.shape[0]
    nk = r.shape[1] - 1
    rlo = np.full(n, np.inf)
    rhi = np.full(n, -np.inf)
    nr = np.empty((2, n, 3))
    nv = np.empty((2, n, 3))
    cen = np.empty((n, 3))
    rho = np.empty(n)
    valid = np.empty(n, dtype=np.bool_)
    everyone = np.arange(n)
    for k in range(nk):
        _interval_nodes(r, v, k, t[k + 1] - t[k], 1, nr, nv, valid, everyone, n)
        _sub_balls(nr, nv, 0, t[k + 1] - t[k], valid, cen, rho, everyone, n)
        for i in range(n):
            if valid[i]:
                c = math.sqrt(cen[i, 0] ** 2 + cen[i, 1] ** 2 + cen[i, 2] ** 2)
                rlo[i] = min(rlo[i], c - rho[i])
                rhi[i] = max(rhi[i], c + rho[i])
    return rlo, rhi


@numba.njit(**_NB)
def _brute_chunk(r, v, t, k_from, k_to, first_global, last_global, members, thr):
    """Every pair of ``members`` on every interval: the no-index reference.

    Only the relative-hull test (an exact bound) precedes the quintic.
    """
    buf = np.empty((64, 6))
    nbuf = 0
    ws = np.empty(48)
    dsc = np.empty((5, 6))
    out_s = np.empty(5)
    out_m = np.empty(5)
    out_e = np.empty(5, dtype=np.bool_)
    nk = r.shape[1] - 1
    nm = members.shape[0]
    ok = np.empty(nm, dtype=np.bool_)
    for k in range(k_from, k_to):
        h = t[k + 1] - t[k]
        first = first_global and k == 0
        last = last_global and k == nk - 1
        for qa in range(nm):
            i = members[qa]
            good = True
            for a in range(3):
                if not (math.isfinite(r[i, k, a]) and math.isfinite(r[i, k + 1, a])
                        and math.isfinite(v[i, k, a]) and math.isfinite(v[i, k + 1, a])):
                    good = False
            ok[qa] = good
        for qa in range(nm):
            if not ok[qa]:
                continue
            i = members[qa]
            for qb in range(qa + 1, nm):
                if not ok[qb]:
                    continue
                j = members[qb]
                if _hull_rejects(r[i, k], v[i, k], r[i, k + 1], v[i, k + 1], r[j, k], v[j, k], r[j, k + 1],
                                 v[j, k + 1], h, thr):
                    continue
                nev = _pair_exact(r[i, k], v[i, k], r[i, k + 1], v[i, k + 1], r[j, k], v[j, k], r[j, k + 1],
                                  v[j, k + 1], h, thr, first, last, ws, dsc, out_s, out_m, out_e)
                for q in range(nev):
                    buf, nbuf = _push(buf, nbuf, min(i, j), max(i, j), k, out_s[q], out_m[q], out_e[q])
    return buf[:nbuf].copy()

# --------------------------------------------------------------------------
# drivers

StatesAt = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _check_times(t_s) -> np.ndarray:
    t_s = np.asarray(t_s, dtype=float)
    if t_s.ndim != 1 or t_s.size < 2:
        raise ConfigError("t_s", getattr(t_s, "shape", t_s), "a 1-D array of at least two times (s)")
    if not np.all(np.isfinite(t_s)) or np.any(np.diff(t_s) <= 0):
        raise ConfigError("t_s", "non-increasing or non-finite times", "strictly increasing finite seconds")
    return t_s


def _check_states(r, v, n_objects, n_times, what="states") -> tuple[np.ndarray, np.ndarray]:
    r = np.ascontiguousarray(r, dtype=float)
    v = np.ascontiguousarray(v, dtype=float)
    want = (n_objects, n_times, 3)
    if r.shape != want or v.shape != want:
        raise ConfigError(
            f"{what} r_gcrs_km/v_gcrs_km_s shape", (r.shape, v.shape), f"both (n_objects, n_times, 3) = {want}"
        )
    return r, v


def _finish(events: np.ndarray, r, v, t_chunk) -> np.ndarray:
    """Events (i, j, k, s, miss, edge) of one chunk -> CONJUNCTION_DTYPE rows."""
    out = np.zeros(len(events), dtype=CONJUNCTION_DTYPE)
    if len(events) == 0:
        return out
    i = events[:, 0].astype(np.int64)
    j = events[:, 1].astype(np.int64)
    k = events[:, 2].astype(np.int64)
    s = events[:, 3]
    h = t_chunk[k + 1] - t_chunk[k]
    ri = hermite_position(r[i, k], v[i, k], r[i, k + 1], v[i, k + 1], h, s)
    vi = hermite_velocity(r[i, k], v[i, k], r[i, k + 1], v[i, k + 1], h, s)
    rj = hermite_position(r[j, k], v[j, k], r[j, k + 1], v[j, k + 1], h, s)
    vj = hermite_velocity(r[j, k], v[j, k], r[j, k + 1], v[j, k + 1], h, s)
    out["i"] = i
    out["j"] = j
    out["tca_s"] = t_chunk[k] + s * h
    out["miss_km"] = events[:, 4]
    out["relative_speed_km_s"] = np.linalg.norm(vi - vj, axis=-1)
    out["r_i_gcrs_km"] = ri
    out["v_i_gcrs_km_s"] = vi
    out["r_j_gcrs_km"] = rj
    out["v_j_gcrs_km_s"] = vj
    out["at_window_edge"] = events[:, 5] > 0.5
    return out


def _sorted(table: np.ndarray) -> np.ndarray:
    return table[np.lexsort((table["j"], table["i"], table["tca_s"]))]


def screen_conjunctions_streamed(
    states_at: StatesAt,
    t_s,
    n_objects: int,
    *,
    threshold_km: float = 5.0,
    watch=None,
    chunk_steps: int | None = None,
    memory_budget_mb: float = 256.0,
    rho_quantile: float = 0.99,
    sub_arcs: int = 1,
    workers: int = 1,
) -> np.ndarray:
    """Screen ``n_objects`` whose states come chunk by chunk from a callable.

    ``states_at(t_chunk_s)`` returns ``(r_gcrs_km, v_gcrs_km_s)`` shaped
    ``(n_objects, len(t_chunk_s), 3)`` (NaN rows for failed objects).  Chunks
    share their end sample.  Memory is the chunk of states plus O(n) work
    arrays: ``chunk_steps`` defaults to what fits in ``memory_budget_mb``.

    ``watch``: None for all-versus-all, else indices (or a bool mask) of the
    watch-list objects; then only pairs with at least one watch object are
    screened (watch-versus-catalogue and watch-versus-watch).

    Tuning (none changes the result, only the time): ``rho_quantile`` sets
    the grid cell from that quantile of the arcs' bounding radii (objects
    above it query a box of cells instead); ``sub_arcs`` splits every
    interval for the spatial stage (helps when the step is long compared
    with the threshold); ``workers`` threads share each chunk (the kernel
    releases the GIL).

    Returns a structured array of ``CONJUNCTION_DTYPE`` sorted by TCA: one row
    per local minimum of range with ``miss_km <= threshold_km`` (``i < j``).
    """
    t_s = _check_times(t_s)
    n_objects = int(n_objects)
    if not (np.isfinite(threshold_km) and threshold_km > 0):
        raise ConfigError("threshold_km", threshold_km, "a positive distance in km")
    if not 0.0 < rho_quantile <= 1.0:
        raise ConfigError("rho_quantile", rho_quantile, "a fraction in (0, 1]")
    if int(sub_arcs) != sub_arcs or sub_arcs < 1:
        raise ConfigError("sub_arcs", sub_arcs, "a positive integer")
    if int(workers) != workers or workers < 1:
        raise ConfigError("workers", workers, "a positive integer (threads)")
    watch_mask = np.zeros(n_objects, dtype=bool)
    use_watch = watch is not None
    if use_watch:
        w = np.asarray(watch)
        if w.dtype == bool:
            if w.shape != (n_objects,):
                raise ConfigError("watch", w.shape, f"a bool mask of length {n_objects} or object indices")
            watch_mask = w.copy()
        else:
            w = w.astype(np.int64).ravel()
            if np.any((w < 0) | (w >= n_objects)):
                raise ConfigError("watch", w[(w < 0) | (w >= n_objects)][:5].tolist(),
                                  f"object indices in [0, {n_objects})")
            watch_mask[w] = True
    if chunk_steps is None:
        per_step = max(1, n_objects) * 48.0 * 2.5  # r and v, plus the caller's own copies
        chunk_steps = int(max(1, min(len(t_s) - 1, memory_budget_mb * 1e6 // per_step)))
    if chunk_steps < 1:
        raise ConfigError("chunk_steps", chunk_steps, "a positive number of intervals")
    tables = []
    n_int = len(t_s) - 1
    for k0 in range(0, n_int, chunk_steps):
        k1 = min(k0 + chunk_steps, n_int)
        t_chunk = t_s[k0 : k1 + 1]
        r, v = states_at(t_chunk)
        r, v = _check_states(r, v, n_objects, len(t_chunk))
        rlo, rhi = _radial_ranges(r, v, t_chunk)
        include = np.isfinite(rlo)
        if use_watch:
            include &= _overlaps_any(rlo, rhi, watch_mask, threshold_km)
        args = (k0 == 0, k1 == n_int, watch_mask, use_watch, include, rlo, rhi, float(threshold_km),
                float(rho_quantile), int(sub_arcs))
        nk = k1 - k0
        if workers == 1 or nk < 2 * workers:
            ev = _screen_chunk(r, v, t_chunk, 0, nk, *args)
        else:
            # the kernel releases the GIL: threads share the chunk, each takes a run of intervals
            cuts = np.linspace(0, nk, workers + 1).astype(int)
            with ThreadPoolExecutor(max_workers=workers) as pool:
                parts = list(pool.map(lambda ab: _screen_chunk(r, v, t_chunk, ab[0], ab[1], *args),
                                      zip(cuts[:-1], cuts[1:])))
            ev = np.concatenate(parts)
        tables.append(_finish(ev, r, v, t_chunk))
    return _sorted(np.concatenate(tables)) if tables else np.zeros(0, CONJUNCTION_DTYPE)


def _overlaps_any(rlo, rhi, watch_mask, pad_km) -> np.ndarray:
    """Apogee/perigee filter for watch mode: catalogue objects whose padded
    radial range over the chunk overlaps that of at least one watch object."""
    w = watch_mask & np.isfinite(rlo)
    if not np.any(w):
        return np.zeros_like(watch_mask)
    lo = np.sort(rlo[w] - pad_km)
    hi_by_lo = (rhi[w] + pad_km)[np.argsort(rlo[w] - pad_km)]
    # merge the watch intervals, then one binary search per catalogue object
    merged_lo, merged_hi = [lo[0]], [hi_by_lo[0]]
    for a, b in zip(lo[1:], hi_by_lo[1:]):
        if a <= merged_hi[-1]:
            merged_hi[-1] = max(merged_hi[-1], b)
        else:
            merged_lo.append(a)
            merged_hi.append(b)
    mlo = np.asarray(merged_lo)
    mhi = np.asarray(merged_hi)
    idx = np.searchsorted(mlo, rhi, side="right") - 1
    ok = idx >= 0
    ok[ok] = mhi[idx[ok]] >= rlo[ok]
    return ok | watch_mask


def screen_conjunctions(
    r_gcrs_km: np.ndarray,
    v_gcrs_km_s: np.ndarray,
    t_s,
    *,
    threshold_km: float = 5.0,
    watch=None,
    chunk_steps: int | None = None,
    rho_quantile: float = 0.99,
    sub_arcs: int = 1,
    workers: int = 1,
) -> np.ndarray:
    """Screen state arrays ``(n_objects, n_times, 3)`` (GCRS, km, km/s).

    Same result as ``screen_conjunctions_streamed``; the arrays may be
    memory-mapped, chunks are sliced from them.  See that function for
    ``watch`` and the output.
    """
    t_s = _check_times(t_s)
    r_arr = np.asarray(r_gcrs_km)
    v_arr = np.asarray(v_gcrs_km_s)
    if r_arr.ndim != 3 or r_arr.shape != v_arr.shape or r_arr.shape[1:] != (len(t_s), 3):
        raise ConfigError(
            "r_gcrs_km/v_gcrs_km_s shape", (r_arr.shape, v_arr.shape), f"(n_objects, {len(t_s)}, 3) for both"
        )
    index = {float(x): q for q, x in enumerate(t_s)}

    def states_at(t_chunk):
        k0 = index[float(t_chunk[0])]
        return r_arr[:, k0 : k0 + len(t_chunk)], v_arr[:, k0 : k0 + len(t_chunk)]

    return screen_conjunctions_streamed(
        states_at, t_s, r_arr.shape[0], threshold_km=threshold_km, watch=watch, chunk_steps=chunk_steps,
        rho_quantile=rho_quantile, sub_arcs=sub_arcs, workers=workers,
    )


def screen_brute_force(r_gcrs_km, v_gcrs_km_s, t_s, *, threshold_km: float = 5.0, members=None) -> np.ndarray:
    """Reference: every pair of ``members`` on every interval, no spatial
    index (only the exact relative-hull bound before the quintic).  O(n^2 T):
    for validating the screen on small sets."""
    t_s = _check_times(t_s)
    r, v = _check_states(r_gcrs_km, v_gcrs_km_s, np.shape(r_gcrs_km)[0], len(t_s))
    members = np.arange(r.shape[0]) if members is None else np.asarray(members, dtype=np.int64)
    ev = _brute_chunk(r, v, t_s, 0, len(t_s) - 1, True, True, members, float(threshold_km))
    return _sorted(_finish(ev, r, v, t_s))


def closest_approaches(r_a_gcrs_km, v_a_gcrs_km_s, r_b_gcrs_km, v_b_gcrs_km_s, t_s, *, max_range_km=np.inf):
    """All local minima of range between two objects sampled at ``t_s``
    (states ``(n_times, 3)``), refined on the Hermite arcs: arrays
    ``(tca_s, range_km, at_window_edge)``; window-edge minima included."""
    t_s = _check_times(t_s)
    r = np.stack([np.asarray(r_a_gcrs_km, float), np.asarray(r_b_gcrs_km, float)])
    v = np.stack([np.asarray(v_a_gcrs_km_s, float), np.asarray(v_b_gcrs_km_s, float)])
    r, v = _check_states(r, v, 2, len(t_s))
    thr = float(min(max_range_km, 1e300))
    ev = _brute_chunk(r, v, t_s, 0, len(t_s) - 1, True, True, np.arange(2), thr)
    tab = _sorted(_finish(ev, r, v, t_s))
    return tab["tca_s"], tab["miss_km"], tab["at_window_edge"]
