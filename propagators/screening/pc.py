"""Probability of collision (Pc) for one conjunction, NASA CARA methods.

Units: km, km/s, km^2 (covariances), s; the hard-body radius (HBR) is in
metres only on the public ``compute_pc`` / ``PcResult`` boundary (``hbr_m``)
and in km (``hbr_km``) in the method functions.

Methods (``compute_pc(conjunction, method=...)``):

``foster``  Foster & Estes (1992) 2D Pc as CARA's ``Pc2D_Foster``: combined
            3x3 position covariance projected to the conjunction plane,
            circular HBR centred on the miss vector, NPD 2x2 covariances
            remediated by eigenvalue clipping at ``(1e-4 HBR)^2``. The double
            integral is done as a 1D adaptive Gauss-Kronrod integral of the
            exact inner (erf) integral, ``rel_tol`` 1e-10 (CARA: quad2d,
            RelTol 1e-8, AbsTol 1e-13).
``elrod``   Elrod's error-function series (CARA ``PcElrod``): reverse
            Cholesky factor of the plane covariance, Gauss-Chebyshev (2nd
            kind) quadrature of order 64 over the minor axis, erfc in closed
            form over the other. Vectorised over conjunctions.
``chan``    Chan (2008) series (equal-area isotropic approximation):
            ``sum_m Poisson(m; v/2) P(m+1, u/2)`` with ``u = R^2/(s1 s2)``,
            ``v = (x/s1)^2 + (z/s2)^2`` in the principal axes. Accurate only
            for HBR well inside the covariance ellipse.
``hall3d``  Hall (2021) 3D-Nc (CARA ``Pc3D_Hall``): two-body (curvilinear)
            motion, full 6x6 covariances mapped through equinoctial elements,
            collision rate integrated over the encounter. Use it when the 2D
            assumptions (short, rectilinear encounter; negligible velocity
            uncertainty) fail: slow or long encounters, typical of GEO and
            cislunar geometry.
``maxpc``   Maximum Pc: with a covariance, the maximum over a scale factor
            of its size (Alfano 2005, "known shape, unknown size"); without
            one, the absolute bound of a covariance collapsed along the miss
            vector (Alfano 2005 / Frisbee 2015), ``sigma^2 = 2 d R /
            ln((d+R)/(d-R))``.
``mc``      Monte Carlo with a seeded RNG and a Clopper-Pearson interval.
            Linear-motion (not CARA's two-body SDMC): relative state at TCA
            sampled from the combined 6x6 covariance, each sample's straight
            line tested for a pass within the HBR (optionally within a time
            window). It verifies the 2D methods, not the curvilinear ones.

``compute_pc`` also runs CARA-style usage-violation checks for the 2D
methods (``usage_violations_2d``): non-positive-definite covariances, an
encounter too long or too far from TCA compared with the orbital period, and
a curvilinear/rectilinear disagreement estimate (CARA
``UsageViolationPc2D``); each raised flag becomes a warning naming the
violated assumption and suggesting ``hall3d``.

Hard-body radius: the argument, else the conjunction's (CDM ``HBR``
comment, or the sum of object radii), else ``DEFAULT_HBR_M`` = 20 m, a
combined radius that circumscribes a large (~30 m span) spacecraft plus a
small object and is the HBR of CARA's own Omitron sample cases when no size
is known; results with it carry a warning.

Missing covariances: ``default_covariance_rtn(regime, age_days)`` (see its
docstring for the numbers and their provenance); results carry a warning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

import numpy as np
from scipy import integrate, optimize, special

from propagators.screening.encounter import (
    combined_plane_covariance,
    encounter_geometry,
    rtn_to_inertial_cov,
)

__all__ = [
    "DEFAULT_HBR_M",
    "METHODS",
    "REGIMES",
    "Conjunction",
    "PcResult",
    "MonteCarloEstimate",
    "compute_pc",
    "pc2d_foster",
    "pc2d_elrod",
    "pc2d_chan",
    "pc3d_hall",
    "pc_max",
    "pc_monte_carlo",
    "usage_violations_2d",
    "default_covariance_rtn",
    "classify_regime",
    "resolve_hbr_m",
]

DEFAULT_HBR_M = 20.0
METHODS = ("foster", "elrod", "chan", "hall3d", "maxpc", "mc")
FCLIP = 1e-4  # CARA eigenvalue clipping factor: clip at (FCLIP * HBR)^2
ZERO_SPEED_KM_S = 1e-9

# Usage-violation cut-offs, from the recommended ranges documented in CARA's
# UsageViolationPc2D.m ("recommended cutoff = 0.01 to 0.05", "0.01",
# "0.01 to 0.10").
UV_EXTENDED_MAX = 2e-2
UV_OFFSET_MAX = 1e-2
UV_INACCURATE_MAX = 2e-2
# 3D-Nc isolation check (this project's criterion): the collision-rate
# support must stay within half of the two-body encounter segment.
NC3D_SEGMENT_FRACTION_MAX = 0.5


# ===========================================================================
# Hall (2021) 3D-Nc internals
# ===========================================================================
# Hall (2021) 3D-Nc: expected number of collisions over a curvilinear encounter.
#
# Helpers behind :func:`pc3d_hall` (the public wrapper further down) and
# the curvilinear part of :func:`usage_violations_2d`. Units: km, km/s, s, rad.
#
# Model (Hall 2021, JSR 58(3); Coppola 2012a/b "C12a"/"C12b"), as in CARA's
# ``Pc3D_Hall.m`` (nasa/CARA_Analysis_Tools, re-derived here, not translated):
#
# * each object's TCA state PDF is a Gaussian in *equinoctial* elements
#   ``E = (n, af, ag, chi, psi, lambda_M)`` (Vallado & Alfano 2015,
#   AAS 15-537, prograde set), obtained from the 6x6 Cartesian covariance with
#   the Jacobian ``K = dE/dX``; two-body motion changes only ``lambda_M``, so
#   the PDF at time ``t`` is the image of that Gaussian through the two-body
#   map ``E0 -> X(t)``;
# * at each time the map is linearised about the *peak overlap position*
#   (POP) of the two position PDFs, found by fixed-point iteration (Hall
#   2021 section IV); the relative position/velocity PDF there is Gaussian;
# * the collision rate ``dNc/dt`` is the flux of that relative PDF into the
#   hard-body sphere, integrated over the sphere with a Lebedev rule (scipy's
#   ``lebedev_rule``, degree 131 = 5810 points, CARA's default);
# * ``Nc`` is the time integral of ``dNc/dt`` over the encounter, which equals
#   Pc for a single isolated conjunction.
#
# Jacobians ``dX(t)/dE0`` use complex-step differentiation of the two-body map
# (exact to round-off, Squire & Trapp 1998) instead of CARA's closed forms.
# Time integration: CARA refines an ephemeris with its own heuristics and
# integrates with the trapezoid rule; here the span is found the same way
# (Coppola bounds, expanded toward the two-body encounter-segment limits while
# ``dNc/dt`` at an end is above the cut-off) and then refined by bisection
# until the trapezoid sum changes by less than ``rel_tol``; both converge to
# the same integral.

GM_EARTH_KM3_S2 = 3.986004418e5  # EGM-96, the value CARA uses
TWO_PI = 2.0 * math.pi
MD2_CUT = 1491.0  # exp(-MD2/2) underflows to 0 beyond this (CARA's MD2cut)
NCDOT_TINY = 1e-300
_COMPLEX_STEP = 1e-20

_LEBEDEV_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def lebedev(degree: int = 131) -> tuple[np.ndarray, np.ndarray]:
    """(points (M, 3), weights (M,)) of the Lebedev rule; weights sum to 4 pi."""
    if degree not in _LEBEDEV_CACHE:
        from scipy.integrate import lebedev_rule

        x, w = lebedev_rule(degree)
        _LEBEDEV_CACHE[degree] = (np.ascontiguousarray(x.T), np.asarray(w))
    return _LEBEDEV_CACHE[degree]


# ---------------------------------------------------------------------------
# Equinoctial elements (Vallado & Alfano 2015), vectorised, complex-safe map
# ---------------------------------------------------------------------------


def cart_to_equinoctial(r_km: np.ndarray, v_km_s: np.ndarray, gm: float = GM_EARTH_KM3_S2):
    """Equinoctial elements of states ``(N, 3)``.

    Returns ``(E (N, 6) = [n, af, ag, chi, psi, lambda_M], ok (N,))``;
    ``ok`` is False for unbound orbits (a <= 0 or e >= 1) and exactly
    retrograde equatorial ones (the prograde set is singular at i = 180 deg).
    """
    r = np.atleast_2d(np.asarray(r_km, float))
    v = np.atleast_2d(np.asarray(v_km_s, float))
    rmag = np.linalg.norm(r, axis=1)
    v2 = np.einsum("ij,ij->i", v, v)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        a = gm * rmag / (2.0 * gm - v2 * rmag)
        ok = np.isfinite(a) & (a > 1e-5)
        a_safe = np.where(ok, a, 1.0)
        n = np.sqrt(gm / a_safe**3)
        rdv = np.einsum("ij,ij->i", r, v)
        evec = ((v2 - gm / rmag)[:, None] * r - rdv[:, None] * v) / gm
        ok &= np.einsum("ij,ij->i", evec, evec) < 1.0
        h = np.cross(r, v)
        w = h / np.linalg.norm(h, axis=1)[:, None]
        ok &= (w[:, 2] + 1.0) > 1e-10
        den = 1.0 + w[:, 2]
        chi = w[:, 0] / den
        psi = -w[:, 1] / den
        c = 1.0 + chi**2 + psi**2
        fhat = np.stack([1.0 - chi**2 + psi**2, 2.0 * chi * psi, -2.0 * chi], axis=1) / c[:, None]
        ghat = np.stack([2.0 * chi * psi, 1.0 + chi**2 - psi**2, 2.0 * psi], axis=1) / c[:, None]
        af = np.einsum("ij,ij->i", fhat, evec)
        ag = np.einsum("ij,ij->i", ghat, evec)
        ok &= (af**2 + ag**2) < 1.0
        X = np.einsum("ij,ij->i", fhat, r)
        Y = np.einsum("ij,ij->i", ghat, r)
        safg = np.sqrt(np.clip(1.0 - af**2 - ag**2, 0.0, None))
        b = 1.0 / (1.0 + safg)
        fden = a_safe * safg
        sin_f = ag + ((1.0 - ag**2 * b) * Y - b * ag * af * X) / fden
        cos_f = af + ((1.0 - af**2 * b) * X - b * ag * af * Y) / fden
        F = np.arctan2(sin_f, cos_f)
        lam = F + ag * cos_f - af * sin_f
    E = np.stack([n, af, ag, chi, psi, lam], axis=1)
    E[~ok] = np.nan
    return E, ok


def _kepler_equinoctial(lam, af, ag):
    """Solve ``F + ag cos F - af sin F = lam`` (Newton; complex-step safe)."""
    F = lam.copy()
    for _ in range(60):
        cf = np.cos(F)
        sf = np.sin(F)
        dF = (F + ag * cf - af * sf - lam) / (1.0 - ag * sf - af * cf)
        F = F - dF
        if np.all(np.abs(dF.real) < 1e-14):
            break
    return F


def equinoctial_to_cart(E: np.ndarray, t_s: np.ndarray, gm: float = GM_EARTH_KM3_S2) -> np.ndarray:
    """Two-body state ``(..., 6)`` at ``t_s`` from epoch elements ``E (..., 6)``.

    Works on complex input (for complex-step derivatives): only the real
    part of the mean longitude is reduced modulo 2 pi.
    """
    n, af, ag, chi, psi, lam0 = (E[..., k] for k in range(6))
    a = (gm / n**2) ** (1.0 / 3.0)
    lam = lam0 + n * t_s
    lam = lam - TWO_PI * np.floor(lam.real / TWO_PI)
    B = np.sqrt(1.0 - ag**2 - af**2)
    b = 1.0 / (1.0 + B)
    omag2b = 1.0 - ag**2 * b
    omaf2b = 1.0 - af**2 * b
    afagb = af * ag * b
    c = 1.0 + chi**2 + psi**2
    fhat = np.stack([1.0 - chi**2 + psi**2, 2.0 * chi * psi, -2.0 * chi], axis=-1) / c[..., None]
    ghat = np.stack([2.0 * chi * psi, 1.0 + chi**2 - psi**2, 2.0 * psi], axis=-1) / c[..., None]
    F = _kepler_equinoctial(lam, af, ag)
    cF = np.cos(F)
    sF = np.sin(F)
    X = a * (omag2b * cF + afagb * sF - af)
    Y = a * (omaf2b * sF + afagb * cF - ag)
    na2or = n * a / (1.0 - af * cF - ag * sF)
    Xd = na2or * (afagb * cF - omag2b * sF)
    Yd = na2or * (omaf2b * cF - afagb * sF)
    r = X[..., None] * fhat + Y[..., None] * ghat
    v = Xd[..., None] * fhat + Yd[..., None] * ghat
    return np.concatenate([r, v], axis=-1)


def jacobian_e0_to_xt(E0: np.ndarray, t_s: np.ndarray, gm: float = GM_EARTH_KM3_S2):
    """``(J (N, 6, 6) = dX(t)/dE0, X (N, 6))`` for elements ``E0 (N, 6)``.

    ``E0`` and ``t_s`` broadcast to N rows. Complex-step derivative in each
    element: ``dX/dE_k = Im X(E0 + i h e_k) / h``.
    """
    E0 = np.asarray(E0, float)
    t = np.asarray(t_s, float)
    nrow = np.broadcast_shapes(E0.shape[:-1], t.shape)
    E0 = np.broadcast_to(E0, nrow + (6,))
    t = np.broadcast_to(t, nrow)
    Ec = np.empty((7,) + nrow + (6,), dtype=complex)
    Ec[:] = E0
    for k in range(6):
        Ec[k + 1, ..., k] += 1j * _COMPLEX_STEP
    Xc = equinoctial_to_cart(Ec, t[None, ...], gm)
    X = Xc[0].real
    J = np.moveaxis(Xc[1:].imag / _COMPLEX_STEP, 0, -1)  # (..., 6 state, 6 element)
    return J, X


# ---------------------------------------------------------------------------
# Small linear-algebra helpers (batched)
# ---------------------------------------------------------------------------


def _sym(m: np.ndarray) -> np.ndarray:
    return 0.5 * (m + np.swapaxes(m, -1, -2))


def clipped_inverse(a: np.ndarray, lclip: float):
    """Eigenvalue-clipped (det, inverse, any-clipped) of symmetric matrices.

    Eigenvalues below ``lclip`` are raised to it (CARA's ``CovRemEigValClip``
    remediation of non-positive-definite covariances).
    """
    lam, vec = np.linalg.eigh(_sym(a))
    clipped = lam < lclip
    lam = np.where(clipped, lclip, lam)
    inv = (vec / lam[..., None, :]) @ np.swapaxes(vec, -1, -2)
    return np.prod(lam, axis=-1), inv, np.any(clipped, axis=-1)


# ---------------------------------------------------------------------------
# Mean equinoctial state and covariance at TCA
# ---------------------------------------------------------------------------


@dataclass
class EquinoctialPdf:
    E0: np.ndarray  # (6,)
    Q0: np.ndarray  # (6, 6) equinoctial covariance
    period_s: float
    q_npd: bool  # equinoctial covariance not positive definite (not remediated)


def equinoctial_pdf(r_km, v_km_s, cov6_km, gm: float = GM_EARTH_KM3_S2) -> EquinoctialPdf | None:
    E, ok = cart_to_equinoctial(np.asarray(r_km)[None], np.asarray(v_km_s)[None], gm)
    if not ok[0]:
        return None
    E0 = E[0].copy()
    E0[5] = E0[5] % TWO_PI
    J, _ = jacobian_e0_to_xt(E0[None], np.zeros(1), gm)
    K = np.linalg.inv(J[0])
    Q = _sym(K @ np.asarray(cov6_km, float) @ K.T)
    lam = np.linalg.eigvalsh(Q)
    return EquinoctialPdf(E0=E0, Q0=Q, period_s=TWO_PI / E0[0], q_npd=bool(lam.min() <= 0))


# ---------------------------------------------------------------------------
# Peak overlap position, batched over times
# ---------------------------------------------------------------------------


@dataclass
class PopResult:
    converged: np.ndarray  # (N,) bool
    failure: np.ndarray  # (N,) int code (0 ok, 1 max iterations, 10/1 unbound, 100 elements)
    iterations: np.ndarray
    xu1: np.ndarray  # (N, 6) primary state at the expansion (mode) point
    xu2: np.ndarray
    Js1: np.ndarray  # (N, 6, 6)
    Js2: np.ndarray


def peak_overlap(
    t_s: np.ndarray,
    pdf1: EquinoctialPdf,
    pdf2: EquinoctialPdf,
    hbr_km: float,
    *,
    fclip: float = 1e-4,
    maxiter: int = 100,
    md2_tol: tuple[float, float] = (1e-6, 1e-3),
    gm: float = GM_EARTH_KM3_S2,
) -> PopResult:
    """Peak overlap positions at times ``t_s`` (s from TCA), all at once.

    Fixed-point iteration of Hall (2021): expand both two-body maps about
    the current estimate, take the peak of the product of the two linearised
    position PDFs, re-expand about it; stop when the step is below
    ``md2_tol[0]`` in Mahalanobis distance squared (with CARA's averaging and
    relaxed tolerance for slowly converging or oscillating cases).
    """
    t = np.atleast_1d(np.asarray(t_s, float))
    N = t.size
    lclip = (fclip * hbr_km) ** 2
    avgiter = min(35, round(maxiter * 0.35))
    acciter = min(25, round(maxiter * 0.25))
    osciter = min(15, round(maxiter * 0.15))
    eye3 = np.eye(3)
    h2eye = hbr_km**2 * eye3

    Eb1 = pdf1.E0
    Eb2 = pdf2.E0
    Js1, xs1 = jacobian_e0_to_xt(Eb1[None], t, gm)
    Js2, xs2 = jacobian_e0_to_xt(Eb2[None], t, gm)
    Es1 = np.broadcast_to(Eb1, (N, 6)).copy()
    Es2 = np.broadcast_to(Eb2, (N, 6)).copy()

    converged = np.zeros(N, bool)
    failure = np.zeros(N, int)
    iterations = np.zeros(N, int)
    out_xu1 = np.full((N, 6), np.nan)
    out_xu2 = np.full((N, 6), np.nan)
    out_J1 = np.full((N, 6, 6), np.nan)
    out_J2 = np.full((N, 6, 6), np.nan)
    mup_old = np.full((N, 3), np.nan)
    mup_old2 = np.full((N, 3), np.nan)

    def offsets(Eb, Es):
        dE = Eb[None, :] - Es
        dE[:, 5] = np.arcsin(np.clip(np.sin(Eb[5] - Es[:, 5]), -1.0, 1.0))
        return dE

    active = np.arange(N)
    iteration = 0
    while active.size:
        a = active
        if iteration == 0:
            xu1 = xs1[a]
            xu2 = xs2[a]
        else:
            xu1 = xs1[a] + np.einsum("nij,nj->ni", Js1[a], offsets(Eb1, Es1[a]))
            xu2 = xs2[a] + np.einsum("nij,nj->ni", Js2[a], offsets(Eb2, Es2[a]))
        P1 = _sym(Js1[a] @ pdf1.Q0 @ np.swapaxes(Js1[a], -1, -2))
        P2 = _sym(Js2[a] @ pdf2.Q0 @ np.swapaxes(Js2[a], -1, -2))
        _, A1i, _ = clipped_inverse(P1[:, :3, :3], lclip)
        _, A2i, _ = clipped_inverse(P2[:, :3, :3], lclip)
        B1 = P1[:, 3:, :3]
        B2 = P2[:, 3:, :3]
        ru1, vu1 = xu1[:, :3], xu1[:, 3:]
        ru2, vu2 = xu2[:, :3], xu2[:, 3:]
        sig_p = np.linalg.inv(A1i + A2i)
        mup = np.einsum(
            "nij,nj->ni", sig_p, np.einsum("nij,nj->ni", A1i, ru1) + np.einsum("nij,nj->ni", A2i, ru2)
        )
        sig_rem_inv = np.linalg.inv(sig_p + h2eye)
        if iteration > avgiter:
            mup = 0.5 * (mup + mup_old[a])
        vu1p = vu1 + np.einsum("nij,nj->ni", B1 @ A1i, mup - ru1)
        vu2p = vu2 + np.einsum("nij,nj->ni", B2 @ A2i, mup - ru2)
        e0 = -gm / np.linalg.norm(mup, axis=1)
        en1 = 0.5 * np.einsum("ni,ni->n", vu1p, vu1p) + e0
        en2 = 0.5 * np.einsum("ni,ni->n", vu2p, vu2p) + e0
        unbound = (en1 >= 0) | (en2 >= 0)

        done = np.zeros(a.size, bool)  # leaves the loop this iteration (success)
        fail = unbound.copy()
        code = np.where(unbound, 10 * (en1 >= 0) + (en2 >= 0), 0)
        if iteration > 0:
            dmup = mup_old[a] - mup
            dmd2 = np.einsum("ni,nij,nj->n", dmup, sig_rem_inv, dmup)
            conv = dmd2 <= md2_tol[0]
            done |= conv & ~fail
            if iteration >= maxiter:
                newly = ~done & ~fail
                fail |= newly
                code = np.where(newly, 1, code)
            elif iteration > osciter:
                d2 = mup_old2[a] - mup
                dosc = np.einsum("ni,nij,nj->n", d2, sig_rem_inv, d2)
                if iteration > avgiter:
                    cut = md2_tol[1]
                elif iteration <= acciter:
                    cut = md2_tol[0]
                else:
                    frc = (iteration - acciter) / (avgiter - acciter)
                    cut = math.exp((1 - frc) * math.log(md2_tol[0]) + frc * math.log(md2_tol[1]))
                done |= ((dosc <= md2_tol[0]) | (dmd2 <= cut)) & ~fail

        # New expansion centres for the states still alive
        live = ~fail
        xs1_new = np.concatenate([mup, vu1p], axis=1)
        xs2_new = np.concatenate([mup, vu2p], axis=1)
        E1n, ok1 = cart_to_equinoctial(xs1_new[:, :3], xs1_new[:, 3:], gm)
        E2n, ok2 = cart_to_equinoctial(xs2_new[:, :3], xs2_new[:, 3:], gm)
        bad = live & ~(ok1 & ok2)
        code = np.where(bad, 100, code)
        fail |= bad
        done &= ~fail
        live = ~fail
        if np.any(live):
            li = a[live]
            tt = t[li]
            E1n = E1n[live]
            E2n = E2n[live]
            E1n[:, 5] = np.mod(E1n[:, 5] - E1n[:, 0] * tt, TWO_PI)
            E2n[:, 5] = np.mod(E2n[:, 5] - E2n[:, 0] * tt, TWO_PI)
            J1n, X1n = jacobian_e0_to_xt(E1n, tt, gm)
            J2n, X2n = jacobian_e0_to_xt(E2n, tt, gm)
            Es1[li], Es2[li] = E1n, E2n
            Js1[li], Js2[li] = J1n, J2n
            xs1[li], xs2[li] = xs1_new[live], xs2_new[live]
        # Finalise the converged ones
        if np.any(done):
            di = a[done]
            converged[di] = True
            iterations[di] = iteration
            out_xu1[di] = xs1[di] + np.einsum("nij,nj->ni", Js1[di], offsets(Eb1, Es1[di]))
            out_xu2[di] = xs2[di] + np.einsum("nij,nj->ni", Js2[di], offsets(Eb2, Es2[di]))
            out_J1[di] = Js1[di]
            out_J2[di] = Js2[di]
        if np.any(fail):
            fi = a[fail]
            failure[fi] = code[fail]
            iterations[fi] = iteration
        keep = ~done & ~fail
        ka = a[keep]
        mup_old2[ka] = mup_old[ka]
        mup_old[ka] = mup[keep]
        active = ka
        iteration += 1
    return PopResult(converged, failure, iterations, out_xu1, out_xu2, out_J1, out_J2)


# ---------------------------------------------------------------------------
# Collision rate dNc/dt at a batch of times
# ---------------------------------------------------------------------------


@dataclass
class RateSamples:
    t_s: np.ndarray
    ncdot: np.ndarray  # NaN where the POP did not converge
    md2: np.ndarray
    ms2: np.ndarray
    converged: np.ndarray
    failure: np.ndarray
    q_modified: np.ndarray  # MD2 + log det As (CARA's Q function, km units)
    rel_speed_km_s: np.ndarray


def collision_rate(
    t_s: np.ndarray,
    pdf1: EquinoctialPdf,
    pdf2: EquinoctialPdf,
    hbr_km: float,
    *,
    fclip: float = 1e-4,
    lebedev_degree: int = 131,
    chunk: int = 48,
    gm: float = GM_EARTH_KM3_S2,
    with_rate: bool = True,
) -> RateSamples:
    """dNc/dt (1/s) at the given times (s from TCA), vectorised."""
    t = np.atleast_1d(np.asarray(t_s, float))
    pop = peak_overlap(t, pdf1, pdf2, hbr_km, fclip=fclip, gm=gm)
    N = t.size
    ncdot = np.full(N, np.nan)
    md2 = np.full(N, np.nan)
    ms2 = np.full(N, np.nan)
    qmod = np.full(N, np.nan)
    vrel = np.full(N, np.nan)
    ok = np.flatnonzero(pop.converged)
    if ok.size:
        H = hbr_km
        lclip = (fclip * H) ** 2
        J1, J2 = pop.Js1[ok], pop.Js2[ok]
        Ps = _sym(J1 @ pdf1.Q0 @ np.swapaxes(J1, -1, -2)) + _sym(J2 @ pdf2.Q0 @ np.swapaxes(J2, -1, -2))
        ru = pop.xu2[ok, :3] - pop.xu1[ok, :3]
        vu = pop.xu2[ok, 3:] - pop.xu1[ok, 3:]
        As, Bs, Cs = Ps[:, :3, :3], Ps[:, 3:, :3], Ps[:, 3:, 3:]
        det, Ai, _ = clipped_inverse(As, lclip)
        bs = Bs @ Ai
        Csp = Cs - bs @ np.swapaxes(Bs, -1, -2)
        Ai_ru = np.einsum("nij,nj->ni", Ai, ru)
        m2 = np.einsum("ni,ni->n", ru, Ai_ru)
        s2 = m2 - 2.0 * H * np.linalg.norm(Ai_ru, axis=1)
        log_z = 0.5 * np.log(TWO_PI**3 * det)  # -log Ns0
        md2[ok], ms2[ok] = m2, s2
        qmod[ok] = m2 + np.log(det)
        vrel[ok] = np.linalg.norm(vu, axis=1)
        rate = np.zeros(ok.size)
        need = np.flatnonzero(s2 <= MD2_CUT) if with_rate else np.zeros(0, int)
        if need.size:
            pts, wts = lebedev(lebedev_degree)
            for start in range(0, need.size, chunk):
                sel = need[start : start + chunk]
                rate[sel] = H**2 * _sphere_flux(pts, wts, H, ru[sel], vu[sel], Ai[sel], bs[sel], Csp[sel], log_z[sel])
        rate[rate <= NCDOT_TINY] = 0.0
        ncdot[ok] = rate
    return RateSamples(t, ncdot, md2, ms2, pop.converged, pop.failure, qmod, vrel)


_SQRT2 = math.sqrt(2.0)
_SQRTPI = math.sqrt(math.pi)
_SQRT2PI = math.sqrt(2.0 * math.pi)


def _sphere_flux(pts, wts, H, ru, vu, Ai, bs, Csp, log_z) -> np.ndarray:
    """Sum over the unit sphere of (inward flux factor) x (relative position PDF).

    For a relative position on the sphere ``r = H rhat`` the relative
    velocity is Gaussian with mean ``vu + bs (r - ru)`` and covariance
    ``Csp``; the mean inward speed ``E[max(0, -rhat . v)]`` times the
    position density at ``r`` is the integrand (C12a eqs 31-39).
    """
    dr = H * pts[None, :, :] - ru[:, None, :]  # (n, M, 3)
    sig2 = np.einsum("mi,nij,mj->nm", pts, Csp, pts)
    cond_v = vu[:, None, :] + np.einsum("nij,nmj->nmi", bs, dr)
    nu0 = np.einsum("mi,nmi->nm", pts, cond_v)
    pos = sig2 > 0
    sig = np.sqrt(np.where(pos, sig2, 1.0))
    nus = nu0 / (sig * _SQRT2)
    nu = sig * (np.exp(-(nus**2)) - _SQRTPI * nus * special.erfc(nus)) / _SQRT2PI
    nu_lim = np.maximum(0.0, -np.einsum("mi,ni->nm", pts, vu))
    nu = np.where(pos, nu, nu_lim)
    md2 = np.einsum("nmi,nij,nmj->nm", dr, Ai, dr)
    integrand = nu * np.exp(-(log_z[:, None] + 0.5 * md2))
    return integrand @ wts


# ---------------------------------------------------------------------------
# Conjunction duration bounds
# ---------------------------------------------------------------------------


def coppola_bounds(gamma: float, hbr_km: float, r_rel_km, v_rel_km_s, cov_rel_km) -> tuple[float, float]:
    """Linear-motion conjunction time bounds (tau0, tau1), Coppola 2012b.

    ``r``/``v`` are secondary minus primary; ``cov`` the combined covariance
    (3x3 or 6x6). The bounds contain all but ``gamma`` of the rectilinear
    encounter's probability; infinite for zero relative velocity.
    """
    r = np.asarray(r_rel_km, float)
    v = np.asarray(v_rel_km_s, float)
    vmag = float(np.linalg.norm(v))
    if vmag < 100 * np.finfo(float).eps:
        return -math.inf, math.inf
    xhat = v / vmag
    yhat = r - xhat * (xhat @ r)
    ny = np.linalg.norm(yhat)
    if ny == 0:
        # Miss vector along v (not at TCA): any normal direction works.
        yhat = np.cross(xhat, [1.0, 0.0, 0.0])
        if np.linalg.norm(yhat) < 1e-8:
            yhat = np.cross(xhat, [0.0, 1.0, 0.0])
        ny = np.linalg.norm(yhat)
    yhat = yhat / ny
    zhat = np.cross(xhat, yhat)
    rot = np.stack([xhat, yhat, zhat])
    A = rot @ np.asarray(cov_rel_km, float)[:3, :3] @ rot.T
    re = rot @ r
    eta2 = A[0, 0]
    w = A[1:, 0]
    Pc = A[1:, 1:]
    bvec = np.linalg.solve(Pc, w)
    sv2 = math.sqrt(max(0.0, 2.0 * (eta2 - bvec @ w)))
    q0 = bvec @ re[1:]
    btb = bvec @ bvec
    dmin = -hbr_km * math.sqrt(btb)
    dmax = hbr_km * math.sqrt(1.0 + btb)
    ac = float(special.erfcinv(gamma))
    temp = ac * sv2
    return (-temp + q0 - dmax) / vmag, (temp + q0 - dmin) / vmag


def encounter_segment(
    pdf1: EquinoctialPdf, pdf2: EquinoctialPdf, taum: float, gm: float = GM_EARTH_KM3_S2
) -> tuple[float, float, bool]:
    """Two-body encounter segment around TCA: the maxima of |r2 - r1| that
    bracket TCA (and the Coppola midpoint). Falls back to +/- half the
    shorter period (third value False) when no bracketing maxima exist.
    """
    p1, p2 = pdf1.period_s, pdf2.period_s
    half0 = 0.5 * min(p1, p2)
    span = min(1.10 * max(p1, p2), 2.20 * min(p1, p2))
    ts = np.linspace(-span, span, 51)

    def dr2(tt):
        tt = np.atleast_1d(tt)
        x1 = equinoctial_to_cart(pdf1.E0[None, :], tt, gm)
        x2 = equinoctial_to_cart(pdf2.E0[None, :], tt, gm)
        d = x2[:, :3] - x1[:, :3]
        return np.einsum("ni,ni->n", d, d)

    y = dr2(ts)
    imax = [i for i in range(1, ts.size - 1) if y[i] >= y[i - 1] and y[i] >= y[i + 1]]
    lo = [i for i in imax if ts[i] < min(0.0, taum)]
    hi = [i for i in imax if ts[i] > max(0.0, taum)]
    if not lo or not hi:
        return -half0, half0, False
    ia, ib = max(lo), min(hi)
    tol = min(p1, p2) / 1000.0
    ta = optimize.minimize_scalar(lambda s: -dr2(s)[0], bounds=(ts[ia - 1], ts[ia + 1]), method="bounded", options={"xatol": tol}).x
    tb = optimize.minimize_scalar(lambda s: -dr2(s)[0], bounds=(ts[ib - 1], ts[ib + 1]), method="bounded", options={"xatol": tol}).x
    if not ta < tb:
        return -half0, half0, False
    return float(ta), float(tb), True


# ---------------------------------------------------------------------------
# Nc over the encounter
# ---------------------------------------------------------------------------


@dataclass
class HallResult:
    nc: float  # NaN when not converged
    converged: bool
    t_s: np.ndarray
    ncdot: np.ndarray
    t_limits_s: tuple[float, float]
    coppola_s: tuple[float, float]
    segment_from_two_body: bool
    duration_s: tuple[float, float]  # effective duration (Ncdot above cut-off)
    period1_s: float
    period2_s: float
    n_evaluations: int
    reoriented: bool
    pop_failures: int
    q_npd: tuple[bool, bool]
    notes: list[str] = field(default_factory=list)


_REORIENT = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])


def _near_retrograde(r, v, eps=1e-6) -> bool:
    h = np.cross(r, v)
    return bool(1.0 + h[2] / np.linalg.norm(h) < eps)


def hall_nc(
    r1_km,
    v1_km_s,
    cov1_km,
    r2_km,
    v2_km_s,
    cov2_km,
    hbr_km: float,
    *,
    t_limits_s: tuple[float, float] | None = None,
    t_initial_s: tuple[float, float] | None = None,
    gamma: float = 1e-16,
    n_initial: int = 101,
    rel_tol: float = 1e-6,
    max_evaluations: int = 40000,
    fclip: float = 1e-4,
    lebedev_degree: int = 131,
    gm: float = GM_EARTH_KM3_S2,
) -> HallResult:
    r1 = np.asarray(r1_km, float)
    v1 = np.asarray(v1_km_s, float)
    r2 = np.asarray(r2_km, float)
    v2 = np.asarray(v2_km_s, float)
    C1 = np.asarray(cov1_km, float)
    C2 = np.asarray(cov2_km, float)
    notes: list[str] = []
    # Reorient the axes if an orbit is (near) retrograde equatorial, where the
    # prograde equinoctial set is singular; two-body motion is rotation
    # invariant, so Nc is unchanged.
    reoriented = _near_retrograde(r1, v1) or _near_retrograde(r2, v2)
    if reoriented:
        m3 = _REORIENT
        m6 = np.zeros((6, 6))
        m6[:3, :3] = m6[3:, 3:] = m3
        r1, v1, r2, v2 = m3 @ r1, m3 @ v1, m3 @ r2, m3 @ v2
        C1, C2 = m6 @ C1 @ m6.T, m6 @ C2 @ m6.T
    pdf1 = equinoctial_pdf(r1, v1, C1, gm)
    pdf2 = equinoctial_pdf(r2, v2, C2, gm)
    if pdf1 is None or pdf2 is None:
        raise ValueError("3D-Nc needs bound (elliptic) two-body orbits for both objects")
    q_npd = (pdf1.q_npd, pdf2.q_npd)
    t0, t1 = coppola_bounds(gamma, hbr_km, r2 - r1, v2 - v1, C1 + C2)
    taum = 0.5 * (t0 + t1) if math.isfinite(t0 + t1) else 0.0
    half0 = 0.5 * min(pdf1.period_s, pdf2.period_s)
    seg_two_body = False
    if t_limits_s is None:
        lo_lim, hi_lim, seg_two_body = encounter_segment(pdf1, pdf2, taum, gm)
    else:
        lo_lim, hi_lim = float(t_limits_s[0]), float(t_limits_s[1])
    if t_initial_s is not None:
        a, b = float(t_initial_s[0]), float(t_initial_s[1])
    else:
        a, b = t0, t1
    if not (math.isfinite(a) and math.isfinite(b)) or b <= lo_lim or a >= hi_lim:
        a, b = lo_lim, hi_lim
    else:
        a, b = max(a, lo_lim), min(b, hi_lim)

    cache: dict[float, tuple[float, float, bool]] = {}
    n_eval = 0

    def evaluate(times: np.ndarray) -> None:
        nonlocal n_eval
        new = np.array(sorted({float(x) for x in times if float(x) not in cache}))
        if new.size == 0:
            return
        res = collision_rate(new, pdf1, pdf2, hbr_km, fclip=fclip, lebedev_degree=lebedev_degree, gm=gm)
        n_eval += new.size
        for k, tt in enumerate(new):
            cache[float(tt)] = (float(res.ncdot[k]), float(res.md2[k]), bool(res.converged[k]))

    def arrays():
        ts = np.array(sorted(cache))
        vals = np.array([cache[x][0] for x in ts])
        md2 = np.array([cache[x][1] for x in ts])
        conv = np.array([cache[x][2] for x in ts])
        return ts, vals, md2, conv

    x_cut = math.sqrt(2.0) * float(special.erfcinv(max(1e-6, gamma)))
    ncdot_red = math.exp(-(x_cut**2) / 2.0) / math.sqrt(TWO_PI)

    evaluate(np.linspace(a, b, n_initial))
    # Expand the span while the rate at an end is significant (or, with a
    # zero rate everywhere, while the Mahalanobis minimum sits at an end).
    for _ in range(200):
        ts, vals, md2, conv = arrays()
        dt = max((ts[-1] - ts[0]) / 2.0, abs(lo_lim) / 80.0, abs(hi_lim) / 80.0)
        step = (ts[-1] - ts[0]) / max(ts.size - 1, 1)
        if not np.any(conv):
            if ts[0] <= lo_lim and ts[-1] >= hi_lim:
                if ts.size > 8 * n_initial:
                    break
                evaluate(np.linspace(lo_lim, hi_lim, 2 * ts.size - 1))
            else:
                evaluate(np.linspace(lo_lim, hi_lim, max(n_initial, ts.size)))
            continue
        v = np.where(np.isfinite(vals), vals, 0.0)
        vmax = v.max()
        if vmax > 0:
            cut = vmax * ncdot_red
            grow_lo = (v[0] > cut or v.argmax() == 0) and ts[0] > lo_lim
            grow_hi = (v[-1] > cut or v.argmax() == v.size - 1) and ts[-1] < hi_lim
        else:
            m = np.where(conv, md2, np.inf)
            im = int(np.argmin(m))
            grow_lo = im == 0 and ts[0] > lo_lim
            grow_hi = im == m.size - 1 and ts[-1] < hi_lim
        if not (grow_lo or grow_hi):
            break
        # Extensions are sampled coarsely (at most 16 intervals, no finer
        # than the current grid); the bisection below resolves any peak.
        if grow_lo:
            new_lo = max(ts[0] - dt, lo_lim)
            k = min(16, max(1, int(math.ceil((ts[0] - new_lo) / step))))
            evaluate(np.linspace(new_lo, ts[0], k + 1))
        if grow_hi:
            new_hi = min(ts[-1] + dt, hi_lim)
            k = min(16, max(1, int(math.ceil((new_hi - ts[-1]) / step))))
            evaluate(np.linspace(ts[-1], new_hi, k + 1))

    # Refine by bisection where the rate is significant, until the
    # trapezoid integral settles.
    ts, vals, md2, conv = arrays()
    v = np.where(np.isfinite(vals), vals, 0.0)
    nc_old = float(np.trapz(v, ts))
    converged_integral = False
    for _ in range(30):
        vmax = v.max()
        if vmax <= 0:
            converged_integral = True
            break
        cut = vmax * ncdot_red
        sig = (v[:-1] > cut) | (v[1:] > cut)
        sig = sig | np.r_[sig[1:], False] | np.r_[False, sig[:-1]]
        mids = 0.5 * (ts[:-1] + ts[1:])[sig]
        if n_eval + mids.size > max_evaluations:
            break
        evaluate(mids)
        ts, vals, md2, conv = arrays()
        v = np.where(np.isfinite(vals), vals, 0.0)
        nc = float(np.trapz(v, ts))
        resolved = np.count_nonzero(v > 1e-2 * v.max()) >= 32
        if resolved and abs(nc - nc_old) <= rel_tol * abs(nc):
            nc_old = nc
            converged_integral = True
            break
        nc_old = nc

    nc = nc_old
    if nc <= 1e-300:
        nc = 0.0
    vmax = v.max() if v.size else 0.0
    # Convergence: every point with a significant rate (and its
    # neighbours) must come from a converged POP.
    ok = converged_integral
    n_fail = int(np.sum(~conv))
    if n_fail:
        if vmax > 0:
            cut = vmax * ncdot_red
            near = np.flatnonzero(v >= cut)
            bad = np.flatnonzero(~conv)
            if any(abs(i - j) <= 1 for i in near for j in bad):
                ok = False
        elif not np.all(np.where(conv, md2, np.inf) > MD2_CUT):
            ok = ok and (t_limits_s is not None)
        notes.append(f"peak-overlap iteration failed at {n_fail} of {ts.size} times")
    if vmax > 0:
        cut = vmax * ncdot_red
        above = ts[v >= cut]
        duration = (float(above.min()), float(above.max()))
    else:
        duration = (math.nan, math.nan)
    return HallResult(
        nc=min(1.0, nc) if ok else math.nan,
        converged=ok,
        t_s=ts,
        ncdot=vals,
        t_limits_s=(lo_lim, hi_lim),
        coppola_s=(t0, t1),
        segment_from_two_body=seg_two_body,
        duration_s=duration,
        period1_s=pdf1.period_s,
        period2_s=pdf2.period_s,
        n_evaluations=n_eval,
        reoriented=reoriented,
        pop_failures=n_fail,
        q_npd=q_npd,
        notes=notes,
    )


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Conjunction:
    """Two objects' inertial states at TCA with their covariances.

    ``r*_km``/``v*_km_s`` in one quasi-inertial frame (``frame``, GCRS or
    EME2000: the Pc methods are rotation invariant, so the ~20 mas frame
    bias between them does not matter); ``cov*_km`` 3x3 or 6x6 (or the CDM's
    8x8/9x9) in the same inertial axes, km units, or None when unknown (then
    ``regime*``/``element_age_days*`` choose a default). ``hbr_m`` is the
    combined hard-body radius when the source gives one.
    """

    r1_km: np.ndarray
    v1_km_s: np.ndarray
    cov1_km: Optional[np.ndarray]
    r2_km: np.ndarray
    v2_km_s: np.ndarray
    cov2_km: Optional[np.ndarray]
    tca: Optional[datetime] = None
    hbr_m: Optional[float] = None
    hbr_source: Optional[str] = None
    frame: str = "GCRS"
    object1: str = "OBJECT1"
    object2: str = "OBJECT2"
    regime1: Optional[str] = None
    regime2: Optional[str] = None
    element_age_days1: Optional[float] = None
    element_age_days2: Optional[float] = None
    notes: tuple[str, ...] = ()

    @staticmethod
    def from_rtn(
        r1_km, v1_km_s, cov1_rtn_km, r2_km, v2_km_s, cov2_rtn_km, **kwargs
    ) -> "Conjunction":
        """Build from RTN covariances (each in its own object's RTN frame)."""
        c1 = None if cov1_rtn_km is None else rtn_to_inertial_cov(cov1_rtn_km, r1_km, v1_km_s)
        c2 = None if cov2_rtn_km is None else rtn_to_inertial_cov(cov2_rtn_km, r2_km, v2_km_s)
        return Conjunction(
            np.asarray(r1_km, float), np.asarray(v1_km_s, float), c1,
            np.asarray(r2_km, float), np.asarray(v2_km_s, float), c2, **kwargs,
        )


@dataclass(frozen=True)
class PcResult:
    """Result of ``compute_pc``; ``to_dict()`` is the CLI's ``--json`` form."""

    pc: float
    method: str
    miss_km: float
    relative_speed_km_s: float
    hbr_m: float
    tca: Optional[datetime]
    warnings: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        from propagators.timeutil import iso_z

        return {
            "pc": _json_float(self.pc),
            "method": self.method,
            "miss_km": _json_float(self.miss_km),
            "relative_speed_km_s": _json_float(self.relative_speed_km_s),
            "hbr_m": _json_float(self.hbr_m),
            "tca": None if self.tca is None else iso_z(self.tca),
            "warnings": list(self.warnings),
            "details": _jsonable(self.details),
        }


@dataclass(frozen=True)
class MonteCarloEstimate:
    pc: float
    ci_low: float
    ci_high: float
    hits: int
    samples: int
    confidence: float
    seed: int


def _json_float(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return _json_float(obj)
    return obj


# ---------------------------------------------------------------------------
# 2D methods
# ---------------------------------------------------------------------------


def _plane(r1, v1, c1, r2, v2, c2, hbr_km):
    """Miss distance, raw 2x2 plane covariance, clipped eigen-decomposition.

    Returns ``(x0, a_raw, lam, vec, remediated)``: eigenvalues below
    ``(FCLIP * HBR)^2`` raised to it (CARA's ``CovRemEigValClip``). Callers
    use ``lam``/``vec`` directly: rebuilding the matrix would lose the
    clipped eigenvalue in round-off when the two differ by 1e18.
    """
    r1 = np.asarray(r1, float)
    r2 = np.asarray(r2, float)
    _, a = combined_plane_covariance(r1, v1, c1, r2, v2, c2)
    x0 = np.linalg.norm(r1 - r2, axis=-1)
    lclip = (FCLIP * np.asarray(hbr_km, float)) ** 2
    lam, vec = np.linalg.eigh(0.5 * (a + np.swapaxes(a, -1, -2)))
    lclip_b = np.asarray(lclip)[..., None] if np.ndim(lclip) else lclip
    remediated = np.any(lam < lclip_b, axis=-1)
    lam = np.maximum(lam, lclip_b)
    return x0, a, lam, vec, remediated


def _erf_diff(a: float, b: float) -> float:
    """erf(a) - erf(b) without cancellation in the tails."""
    if a > 0.0 and b > 0.0:
        return math.erfc(b) - math.erfc(a)
    if a < 0.0 and b < 0.0:
        return math.erfc(-a) - math.erfc(-b)
    return math.erf(a) - math.erf(b)


def pc2d_foster(
    r1_km, v1_km_s, cov1_km, r2_km, v2_km_s, cov2_km, hbr_km: float,
    *, rel_tol: float = 1e-10, hbr_type: str = "circle",
) -> tuple[float, dict]:
    """Foster 2D Pc (CARA ``Pc2D_Foster`` conventions). Returns (pc, info).

    ``hbr_type``: ``"circle"`` (radius HBR), ``"square"`` (half-side HBR) or
    ``"squareEquArea"`` (square of the circle's area). Inner integral in
    closed form (conditional Gaussian of z given x), outer integral adaptive
    with ``epsrel = rel_tol`` over a smooth angle parametrisation of the
    circle. NaN for zero relative speed (the conjunction plane is undefined).
    """
    info: dict = {}
    R = float(hbr_km)
    vrel = np.linalg.norm(np.asarray(v1_km_s, float) - np.asarray(v2_km_s, float))
    if R == 0:
        return 0.0, info
    if math.isinf(R):
        return 1.0, info
    if vrel < ZERO_SPEED_KM_S:
        info["reason"] = "zero relative velocity: conjunction plane undefined"
        return math.nan, info
    x0, a_raw, lam, vec, remediated = _plane(r1_km, v1_km_s, cov1_km, r2_km, v2_km_s, cov2_km, R)
    x0 = float(x0)
    a = (vec * lam) @ vec.T
    info.update(cov_plane_km2=a_raw, cov_plane_remediated=bool(remediated), miss_km=x0)
    kind = hbr_type.lower()
    if kind == "circle":
        # Principal axes: eta along the minor axis (sigma_eta <= sigma_xi).
        # Outer integral over eta = eta0 - R cos(theta) (smooth at the
        # circle's ends), inner over the chord in xi in closed form.
        s_eta, s_xi = math.sqrt(lam[0]), math.sqrt(lam[1])
        eta0 = float(vec[0, 0] * x0)
        xi0 = abs(float(vec[0, 1] * x0))
        norm_eta = 1.0 / (math.sqrt(2.0 * math.pi) * s_eta)
        d_xi = math.sqrt(2.0) * s_xi

        def f(theta: float) -> float:
            w = R * math.sin(theta)
            eta = eta0 - R * math.cos(theta)
            p_eta = norm_eta * math.exp(-0.5 * (eta / s_eta) ** 2)
            return p_eta * 0.5 * _erf_diff((xi0 + w) / d_xi, (xi0 - w) / d_xi) * w

        lo, hi = 0.0, math.pi
        brk = set()
        for kk in (0.0, -2.0, 2.0, -5.0, 5.0, -10.0, 10.0):
            c = (eta0 - kk * s_eta) / R
            if -1.0 < c < 1.0:
                brk.add(math.acos(c))
        for kk in (0.0, -3.0, 3.0):
            c = (xi0 + kk * s_xi) / R
            if 0.0 < c < 1.0:
                brk.update((math.asin(c), math.pi - math.asin(c)))
        brk = sorted(b for b in brk if lo < b < hi)
    elif kind in ("square", "squareequarea"):
        # Axis-aligned square in CARA's (x, z) plane axes: z given x is
        # Gaussian (conditional mean k x, sd s), x marginal N(0, a11).
        a11, a12 = float(a[0, 0]), float(a[0, 1])
        sx = math.sqrt(a11)
        s = math.sqrt(lam[0] * lam[1] / a11)
        k = a12 / a11
        norm_x = 1.0 / (math.sqrt(2.0 * math.pi) * sx)
        inv2 = 1.0 / (math.sqrt(2.0) * s)
        h = R if kind == "square" else 0.5 * math.sqrt(math.pi) * R

        def f(x: float) -> float:
            mu = k * x
            px = norm_x * math.exp(-0.5 * x * x / a11)
            return px * 0.5 * _erf_diff((h - mu) * inv2, (-h - mu) * inv2)

        lo, hi = x0 - h, x0 + h
        brk = sorted(xb for xb in (0.0, -5 * sx, 5 * sx) if lo < xb < hi)
    else:
        raise ValueError(f"hbr_type {hbr_type!r}: expected 'circle', 'square' or 'squareEquArea'")
    val, err = integrate.quad(f, lo, hi, epsabs=0.0, epsrel=rel_tol, limit=500, points=brk or None)
    info["quad_error"] = err
    return min(1.0, max(0.0, val)), info


# Gauss-Chebyshev (second kind) nodes/weights for int_{-1}^{1} g(u) du with
# g ~ sqrt(1-u^2) * smooth: u_k = -cos(k pi/(n+1)), W_k = pi/(n+1) sin(...).
_GC_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _gauss_chebyshev_half(order: int):
    if order not in _GC_CACHE:
        k = np.arange(1, order + 1)
        th = k * math.pi / (order + 1)
        u = -np.cos(th)
        w = math.pi / (order + 1) * np.sin(th)
        half = order // 2
        _GC_CACHE[order] = (u[half:], w[half:])
    return _GC_CACHE[order]


def pc2d_elrod(
    r1_km, v1_km_s, cov1_km, r2_km, v2_km_s, cov2_km, hbr_km, *, order: int = 64
):
    """Elrod's error-function (Gauss-Chebyshev) 2D Pc, vectorised.

    Accepts one conjunction (returns a float) or ``n`` of them (vectors
    ``(n, 3)``, covariances ``(n, 3|6, 3|6)``, HBR scalar or ``(n,)``;
    returns ``(n,)``). Same plane, remediation and miss-distance conventions
    as Foster. With the plane covariance ``A = U U^T``, ``U`` upper
    triangular, ``x = U1 xi + U2 zeta``, ``z = U3 zeta``: for each node in
    ``zeta`` the xi-integral over the circle chord is an erfc difference.
    """
    order = int(math.ceil(order / 2) * 2)
    single = np.ndim(r1_km) == 1
    r1 = np.atleast_2d(np.asarray(r1_km, float))
    r2 = np.atleast_2d(np.asarray(r2_km, float))
    v1 = np.broadcast_to(np.asarray(v1_km_s, float), r1.shape)
    v2 = np.broadcast_to(np.asarray(v2_km_s, float), r2.shape)
    c1 = np.asarray(cov1_km, float)
    c2 = np.asarray(cov2_km, float)
    c1 = np.broadcast_to(c1[..., :3, :3], (r1.shape[0], 3, 3))
    c2 = np.broadcast_to(c2[..., :3, :3], (r1.shape[0], 3, 3))
    R = np.broadcast_to(np.maximum(np.asarray(hbr_km, float), 0.0), (r1.shape[0],)).copy()
    x0, _, lam, vec, _ = _plane(r1, v1, c1, r2, v2, c2, np.where(np.isfinite(R), R, 1.0))
    # Reverse Cholesky A = U U^T, U = [[u1, u2], [0, u3]], from the clipped
    # eigen-decomposition (u1^2 = det / a22 keeps the small eigenvalue).
    a22 = np.einsum("nk,nk->n", vec[:, 1, :] ** 2, lam)
    a12 = np.einsum("nk,nk,nk->n", vec[:, 0, :], vec[:, 1, :], lam)
    u3 = np.sqrt(a22)
    u2 = a12 / u3
    u1 = np.sqrt(lam[:, 0] * lam[:, 1] / a22)
    nodes, wts = _gauss_chebyshev_half(order)
    den = math.sqrt(2.0) * u1
    with np.errstate(invalid="ignore", divide="ignore"):
        s = R / u3
        z = nodes[None, :] * s[:, None]  # (n, k)
        rad = np.sqrt(np.maximum(R[:, None] ** 2 - (u3[:, None] * z) ** 2, 0.0))
        xm = x0[:, None]
        u2z = u2[:, None] * z
        d = den[:, None]
        terms = (
            special.erfc((xm - u2z - rad) / d)
            + special.erfc((xm + u2z - rad) / d)
            - special.erfc((xm - u2z + rad) / d)
            - special.erfc((xm + u2z + rad) / d)
        )
        pc = s * np.sum(wts / (2.0 * math.sqrt(2.0 * math.pi)) * np.exp(-0.5 * z**2) * terms, axis=1)
    pc = np.where(R == 0, 0.0, pc)
    pc = np.where(np.isinf(R), 1.0, pc)
    vrel = np.linalg.norm(v1 - v2, axis=-1)
    pc = np.where(vrel < ZERO_SPEED_KM_S, np.nan, np.clip(pc, 0.0, 1.0))
    return float(pc[0]) if single else pc


def pc2d_chan(
    r1_km, v1_km_s, cov1_km, r2_km, v2_km_s, cov2_km, hbr_km: float
) -> tuple[float, dict]:
    """Chan (2008) series 2D Pc (equal-area circle in the isotropic frame).

    ``Pc = sum_m e^{-v/2} (v/2)^m / m! * P(m+1, u/2)`` (``P`` the regularised
    lower incomplete gamma), i.e. Chan's double series; summed until the
    terms are negligible.
    """
    R = float(hbr_km)
    if R == 0:
        return 0.0, {}
    if math.isinf(R):
        return 1.0, {}
    vrel = np.linalg.norm(np.asarray(v1_km_s, float) - np.asarray(v2_km_s, float))
    if vrel < ZERO_SPEED_KM_S:
        return math.nan, {"reason": "zero relative velocity: conjunction plane undefined"}
    x0, _, lam, vec, _ = _plane(r1_km, v1_km_s, cov1_km, r2_km, v2_km_s, cov2_km, R)
    miss = vec.T @ np.array([float(x0), 0.0])
    s1, s2 = math.sqrt(lam[0]), math.sqrt(lam[1])
    u = R * R / (s1 * s2)
    v = (miss[0] / s1) ** 2 + (miss[1] / s2) ** 2
    half_v = 0.5 * v
    half_u = 0.5 * u
    # The product of the Poisson weight (peak at v/2) and P(m+1, u/2)
    # (negligible for m >> u/2) peaks near m* below; sum well past it.
    m_star = min(half_v, max(half_u, math.sqrt(half_u * half_v)))
    m_max = int(min(m_star + 15.0 * math.sqrt(m_star + 1.0) + 60.0, 5e6))
    m = np.arange(m_max + 1, dtype=float)
    if half_v > 0:
        log_pois = m * math.log(half_v) - half_v - special.gammaln(m + 1)
    else:
        log_pois = np.where(m == 0, 0.0, -np.inf)
    terms = np.exp(log_pois) * special.gammainc(m + 1, half_u)
    return float(min(1.0, terms.sum())), {"u": u, "v": v, "terms": m_max + 1}


# ---------------------------------------------------------------------------
# Maximum Pc
# ---------------------------------------------------------------------------


def _pc_max_no_covariance(miss_km: float, hbr_km: float) -> tuple[float, float]:
    """(Pc_max, sigma_km) for a covariance collapsed along the miss vector."""
    d, R = float(miss_km), float(hbr_km)
    if d <= R:
        return 1.0, 0.0
    sigma = math.sqrt(2.0 * d * R / math.log((d + R) / (d - R)))
    s2 = math.sqrt(2.0) * sigma
    return 0.5 * _erf_diff((d + R) / s2, (d - R) / s2), sigma


def pc_max(
    miss_km: float,
    hbr_km: float,
    *,
    states: Optional[tuple] = None,
) -> tuple[float, dict]:
    """Maximum Pc (Alfano 2005; Frisbee 2015).

    Without ``states`` (or with covariances of None): the absolute maximum
    over all covariances, reached when the covariance collapses onto the miss
    direction with ``sigma^2 = 2 d R / ln((d+R)/(d-R))`` (1 when d <= R).
    With ``states = (r1, v1, cov1, r2, v2, cov2)``: the maximum of the Foster
    Pc over ``k^2 * C`` (the covariance's shape kept, its size unknown),
    found by a bounded 1D search in ``log k`` started at the small-HBR
    optimum ``k^2 = m^2 / 2`` (``m`` the Mahalanobis distance).
    """
    if states is None or states[2] is None or states[5] is None:
        pc, sigma = _pc_max_no_covariance(miss_km, hbr_km)
        return pc, {"mode": "no covariance (collapsed along the miss vector)", "sigma_km": sigma}
    r1, v1, c1, r2, v2, c2 = states
    c1 = np.asarray(c1, float)[:3, :3]
    c2 = np.asarray(c2, float)[:3, :3]
    _, a = combined_plane_covariance(r1, v1, c1, r2, v2, c2)
    d = np.array([np.linalg.norm(np.asarray(r1) - np.asarray(r2)), 0.0])
    m2 = float(d @ np.linalg.solve(a, d))

    def neg_pc(log_k2: float) -> float:
        k2 = math.exp(log_k2)
        return -pc2d_foster(r1, v1, k2 * c1, r2, v2, k2 * c2, hbr_km, rel_tol=1e-9)[0]

    centre = math.log(max(m2, 1e-12) / 2.0)
    res = optimize.minimize_scalar(neg_pc, bounds=(centre - 4.0, centre + 4.0), method="bounded",
                                   options={"xatol": 1e-6})
    k2 = math.exp(res.x)
    return -res.fun, {"mode": "covariance shape kept, size scaled", "scale_k": math.sqrt(k2)}


# ---------------------------------------------------------------------------
# Monte Carlo (linear motion)
# ---------------------------------------------------------------------------


def _clopper_pearson(k: int, n: int, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    lo = 0.0 if k == 0 else float(special.betaincinv(k, n - k + 1, alpha / 2))
    hi = 1.0 if k == n else float(special.betaincinv(k + 1, n - k, 1 - alpha / 2))
    return lo, hi


def pc_monte_carlo(
    r1_km, v1_km_s, cov1_km, r2_km, v2_km_s, cov2_km, hbr_km: float,
    *, samples: int = 1_000_000, seed: int = 20240229, window_s: Optional[float] = None,
    confidence: float = 0.95, chunk: int = 250_000,
) -> MonteCarloEstimate:
    """Linear-motion Monte Carlo Pc with a Clopper-Pearson interval.

    The relative state (primary minus secondary) at TCA is drawn from
    ``N(nominal, C1 + C2)`` (6x6; with 3x3 covariances the velocity is
    exact; NPD matrices are sampled with negative eigenvalues set to 0).
    A sample is a hit when its straight-line closest approach, restricted to
    ``|t| <= window_s`` if given, is within the HBR. Same seed, same answer.
    """
    c1 = np.asarray(cov1_km, float)
    c2 = np.asarray(cov2_km, float)
    dim = 6 if (c1.shape[0] >= 6 and c2.shape[0] >= 6) else 3
    cov = c1[:dim, :dim] + c2[:dim, :dim]
    lam, vec = np.linalg.eigh(0.5 * (cov + cov.T))
    sqrt_cov = vec * np.sqrt(np.clip(lam, 0.0, None))
    r0 = np.asarray(r1_km, float) - np.asarray(r2_km, float)
    v0 = np.asarray(v1_km_s, float) - np.asarray(v2_km_s, float)
    rng = np.random.default_rng(seed)
    R2 = float(hbr_km) ** 2
    hits = 0
    done = 0
    while done < samples:
        m = min(chunk, samples - done)
        delta = rng.standard_normal((m, dim)) @ sqrt_cov.T
        r = r0 + delta[:, :3]
        v = v0 + delta[:, 3:] if dim == 6 else np.broadcast_to(v0, r.shape)
        vv = np.einsum("ij,ij->i", v, v)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(vv > 0, -np.einsum("ij,ij->i", r, v) / vv, 0.0)
        if window_s is not None:
            t = np.clip(t, -window_s, window_s)
        d = r + v * t[:, None]
        hits += int(np.count_nonzero(np.einsum("ij,ij->i", d, d) <= R2))
        done += m
    lo, hi = _clopper_pearson(hits, samples, confidence)
    return MonteCarloEstimate(hits / samples, lo, hi, hits, samples, confidence, seed)


# ---------------------------------------------------------------------------
# Hall 3D-Nc (public wrapper)
# ---------------------------------------------------------------------------


def pc3d_hall(
    r1_km, v1_km_s, cov1_km, r2_km, v2_km_s, cov2_km, hbr_km: float,
    *, t_limits_s: Optional[tuple[float, float]] = None,
    t_initial_s: Optional[tuple[float, float]] = None, rel_tol: float = 1e-6,
) -> HallResult:
    """Hall (2021) 3D-Nc with CARA ``Pc3D_Hall`` conventions.

    Both covariances must be 6x6 (km, km/s). ``t_limits_s`` bounds the
    encounter segment (s from TCA; default: the two-body maxima of the mean
    separation bracketing TCA, else +/- half the shorter period);
    ``t_initial_s`` the first span explored (default: Coppola's
    linear-motion bounds for gamma = 1e-16). ``result.nc`` is NaN when the
    peak-overlap iteration failed where the collision rate matters.
    """
    c1 = np.asarray(cov1_km, float)
    c2 = np.asarray(cov2_km, float)
    if c1.shape[0] < 6 or c2.shape[0] < 6:
        raise ValueError("3D-Nc needs 6x6 position-velocity covariances for both objects")
    if not hbr_km > 0:
        raise ValueError(f"HBR {hbr_km!r} km: expected a positive radius")
    return hall_nc(
        r1_km, v1_km_s, c1[:6, :6], r2_km, v2_km_s, c2[:6, :6], float(hbr_km),
        t_limits_s=t_limits_s, t_initial_s=t_initial_s, rel_tol=rel_tol,
    )


# ---------------------------------------------------------------------------
# Usage violations of the 2D assumptions (CARA UsageViolationPc2D)
# ---------------------------------------------------------------------------


def usage_violations_2d(
    r1_km, v1_km_s, cov1_km, r2_km, v2_km_s, cov2_km, hbr_km: float,
    *, gamma: float = 1e-16, max_refinements: int = 20,
) -> dict:
    """Indicators that the 2D (short, rectilinear) assumptions fail.

    Returns a dict with ``npd`` (primary, secondary, relative position
    covariances not positive definite), ``extended`` (encounter duration /
    shorter orbital period), ``offset`` (largest |t| of the encounter /
    period), ``inaccurate`` (``1 - exp(-|ln(Nc2D/Pc2D)|)`` estimated in the
    small-HBR limit from the curvilinear modified Mahalanobis distance
    ``Q(t) = MD2 + ln det A`` near its minimum, Hall's approach), and
    ``violations``: the names of the indicators above their cut-offs. With
    3x3 covariances only the rectilinear part is evaluated.
    """
    r1 = np.asarray(r1_km, float)
    v1 = np.asarray(v1_km_s, float)
    r2 = np.asarray(r2_km, float)
    v2 = np.asarray(v2_km_s, float)
    c1 = np.asarray(cov1_km, float)
    c2 = np.asarray(cov2_km, float)
    H = float(hbr_km)
    out: dict[str, Any] = {"extended": math.nan, "offset": math.nan, "inaccurate": math.nan}
    npd1 = bool(np.linalg.eigvalsh(0.5 * (c1[:3, :3] + c1[:3, :3].T)).min() <= 0)
    npd2 = bool(np.linalg.eigvalsh(0.5 * (c2[:3, :3] + c2[:3, :3].T)).min() <= 0)
    A = c1[:3, :3] + c2[:3, :3]
    lam = np.linalg.eigvalsh(0.5 * (A + A.T))
    out["npd"] = [npd1, npd2, bool(lam.min() <= 0)]
    det, Ai, _ = clipped_inverse(A, (FCLIP * H) ** 2)
    r = r2 - r1
    v = v2 - v1
    rAr, rAv, vAv = r @ Ai @ r, r @ Ai @ v, v @ Ai @ v
    periods = []
    for rr, vv in ((r1, v1), (r2, v2)):
        e = 0.5 * vv @ vv - GM_EARTH_KM3_S2 / np.linalg.norm(rr)
        periods.append(2 * math.pi * math.sqrt((-GM_EARTH_KM3_S2 / (2 * e)) ** 3 / GM_EARTH_KM3_S2) if e < 0 else math.inf)
    pmin = min(periods)
    out["period_min_s"] = pmin
    k_gamma = math.sqrt(2.0) * float(special.erfcinv(gamma))
    if vAv <= 0 or not math.isfinite(pmin):
        out["extended"] = 1.0
        out["violations"] = _violation_names(out)
        return out
    t_rl = -rAv / vAv
    s_rl = 1.0 / math.sqrt(vAv)
    q_rl = rAr + 2 * t_rl * rAv + t_rl**2 * vAv + math.log(det)
    v_rl = float(np.linalg.norm(v))
    out.update(t_rectilinear_s=t_rl, sigma_t_rectilinear_s=s_rl)
    dtau = s_rl * k_gamma
    out["extended"] = min(1.0, 2 * dtau / pmin)
    out["offset"] = min(1.0, max(abs(t_rl - dtau), abs(t_rl + dtau)) / pmin)
    if c1.shape[0] < 6 or c2.shape[0] < 6:
        out["violations"] = _violation_names(out)
        return out

    # Curvilinear Q(t) from the peak-overlap states (two-body motion).
    R1, V1, R2, V2, C1, C2 = r1, v1, r2, v2, c1[:6, :6], c2[:6, :6]
    if _near_retrograde(R1, V1) or _near_retrograde(R2, V2):
        m6 = np.zeros((6, 6))
        m6[:3, :3] = m6[3:, 3:] = _REORIENT
        R1, V1, R2, V2 = _REORIENT @ R1, _REORIENT @ V1, _REORIENT @ R2, _REORIENT @ V2
        C1, C2 = m6 @ C1 @ m6.T, m6 @ C2 @ m6.T
    p1 = equinoctial_pdf(R1, V1, C1)
    p2 = equinoctial_pdf(R2, V2, C2)
    if p1 is None or p2 is None:
        out["violations"] = _violation_names(out)
        return out

    def q_of(times):
        res = collision_rate(np.atleast_1d(times), p1, p2, H, with_rate=False)
        return res.q_modified, res.rel_speed_km_s

    ts = [t_rl - s_rl, t_rl, t_rl + s_rl]
    qs, _ = q_of(ts)
    ts, qs = list(ts), list(qs)
    if not np.all(np.isfinite(qs)):
        out["violations"] = _violation_names(out)
        return out
    t_cl = s_cl = q_cl = math.nan
    for _ in range(max_refinements):
        order = np.argsort(qs)[:3]
        tt = np.array(ts)[order]
        qq = np.array(qs)[order]
        c2_, c1_, c0_ = np.polyfit(tt - tt[0], qq, 2)
        if c2_ <= 0:
            s_cl = math.inf
            break
        t_cl = tt[0] - c1_ / (2 * c2_)
        q_cl = c0_ - c1_**2 / (4 * c2_)
        s_cl = math.sqrt(1.0 / c2_)
        span = 10 * (max(ts) - min(ts))
        t_cl = min(max(t_cl, min(ts) - span), max(ts) + span)
        near = int(np.argmin(np.abs(np.array(ts) - t_cl)))
        if abs(ts[near] - t_cl) < 0.1 * s_cl and abs(qs[near] - q_cl) < 0.1:
            break
        qn, _ = q_of([t_cl])
        if not np.isfinite(qn[0]):
            break
        ts.append(t_cl)
        qs.append(float(qn[0]))
    if math.isfinite(s_cl) and math.isfinite(t_cl):
        qf, vf = q_of([t_cl])
        if np.isfinite(qf[0]):
            q_cl = float(qf[0])
            lcf = math.log(s_cl / s_rl) + math.log(float(vf[0]) / v_rl) + 0.5 * (q_rl - q_cl)
            dtau = s_cl * k_gamma
            ta, tb = t_cl - dtau, t_cl + dtau
            out.update(
                t_curvilinear_s=t_cl, sigma_t_curvilinear_s=s_cl, log_pc_correction=lcf,
                extended=min(1.0, (tb - ta) / pmin), offset=min(1.0, max(abs(ta), abs(tb)) / pmin),
                inaccurate=1.0 - math.exp(-abs(lcf)),
            )
    elif math.isinf(s_cl):
        out["extended"] = 1.0
    out["violations"] = _violation_names(out)
    return out


def _violation_names(ind: dict) -> list[str]:
    names = []
    if any(ind.get("npd", [])):
        names.append("npd")
    if ind.get("extended", 0) > UV_EXTENDED_MAX:
        names.append("extended")
    if ind.get("offset", 0) > UV_OFFSET_MAX:
        names.append("offset")
    if ind.get("inaccurate", 0) > UV_INACCURATE_MAX:
        names.append("inaccurate")
    return names


# ---------------------------------------------------------------------------
# Default covariances
# ---------------------------------------------------------------------------

REGIMES = ("LEO", "MEO", "GEO", "HEO", "CISLUNAR")

# (1-sigma R, T, N at element-set epoch [km], growth of R, T, N [km/day],
#  representative mean motion [rad/s] used to size the velocity sigmas).
# LEO/MEO/GEO/HEO epoch values are rounded to the order of magnitude of the
# SGP4/TLE errors reported by Flohrer, Krag & Klinkrad (2008), "Assessment
# and categorization of TLE orbit errors for the US SSN catalogue" (AMOS),
# and the along-track-dominated growth to the ~1 km/day (LEO, drag) and
# slower (higher orbits) rates seen when TLEs are propagated past epoch.
# CISLUNAR has no published catalogue statistics: 5/20/5 km at epoch with
# 20 km/day along-track growth is an engineering placeholder sized to
# optical tracking of cislunar objects. These are planning defaults, not
# measured covariances: every result computed with one carries a warning.
_DEFAULT_SIGMAS = {
    "LEO": ((0.15, 0.8, 0.25), (0.05, 1.5, 0.05), 1.1e-3),
    "MEO": ((0.3, 1.5, 0.5), (0.05, 0.5, 0.05), 1.45e-4),
    "GEO": ((0.5, 3.0, 1.0), (0.1, 1.0, 0.1), 7.29e-5),
    "HEO": ((1.0, 5.0, 1.0), (0.5, 5.0, 0.5), 1.45e-4),
    "CISLUNAR": ((5.0, 20.0, 5.0), (2.0, 20.0, 2.0), 2.66e-6),
}


def default_covariance_rtn(regime: str, age_days: float) -> np.ndarray:
    """Diagonal 6x6 RTN covariance (km^2, km^2/s^2) for an object without one.

    ``sigma_i(age) = sqrt(sigma0_i^2 + (g_i * age)^2)`` per RTN axis with the
    table above; velocity sigmas ``n * sigma_i`` (``n`` the regime's mean
    motion), i.e. the velocity error of a position error of that size on
    the orbit. ``age_days`` is the time from element-set epoch to TCA
    (negative values count as their magnitude).
    """
    key = str(regime).upper()
    if key not in _DEFAULT_SIGMAS:
        raise ValueError(f"regime {regime!r}: expected one of {', '.join(REGIMES)}")
    age = abs(float(age_days))
    if not math.isfinite(age):
        raise ValueError(f"element-set age {age_days!r} days: expected a finite number")
    s0, g, n = _DEFAULT_SIGMAS[key]
    sig = np.sqrt(np.square(s0) + np.square(np.asarray(g) * age))
    return np.diag(np.concatenate([sig**2, (n * sig) ** 2]))


def classify_regime(r_km, v_km_s) -> str:
    """LEO / MEO / GEO / HEO / CISLUNAR from a geocentric inertial state.

    Apogee radius above 100 000 km (or unbound) -> CISLUNAR; eccentricity
    above 0.25 -> HEO; semi-major axis within 42164 +/- 1000 km -> GEO;
    perigee altitude below 2000 km -> LEO; otherwise MEO.
    """
    r = np.asarray(r_km, float)
    v = np.asarray(v_km_s, float)
    rm = np.linalg.norm(r)
    energy = 0.5 * v @ v - GM_EARTH_KM3_S2 / rm
    if energy >= 0:
        return "CISLUNAR"
    a = -GM_EARTH_KM3_S2 / (2 * energy)
    h = np.cross(r, v)
    e = math.sqrt(max(0.0, 1.0 - (h @ h) / (GM_EARTH_KM3_S2 * a)))
    if a * (1 + e) > 100_000.0:
        return "CISLUNAR"
    if e > 0.25:
        return "HEO"
    if abs(a - 42164.0) < 1000.0:
        return "GEO"
    if a * (1 - e) - 6378.137 < 2000.0:
        return "LEO"
    return "MEO"


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def resolve_hbr_m(conjunction: Conjunction, hbr_m: Optional[float]) -> tuple[float, str]:
    """(HBR in metres, where it came from): argument > conjunction > default."""
    if hbr_m is not None:
        return float(hbr_m), "argument"
    if conjunction.hbr_m is not None:
        return float(conjunction.hbr_m), conjunction.hbr_source or "conjunction"
    return DEFAULT_HBR_M, "default"


def _as_conjunction(obj) -> Conjunction:
    if isinstance(obj, Conjunction):
        return obj
    if hasattr(obj, "to_conjunction"):
        return obj.to_conjunction()
    raise TypeError(f"expected a Conjunction or a parsed CDM, got {type(obj).__name__}")


def compute_pc(conjunction, method: str = "foster", hbr_m: Optional[float] = None, **options) -> PcResult:
    """Pc of one conjunction by the named method (see the module docstring).

    ``conjunction``: a :class:`Conjunction` or anything with
    ``to_conjunction()`` (a parsed CDM). ``hbr_m`` overrides the
    conjunction's HBR. ``options`` go to the method (``rel_tol`` for
    foster, ``order`` for elrod, ``t_limits_s``/``t_initial_s`` for hall3d,
    ``samples``/``seed``/``window_s`` for mc; ``check_usage=False`` skips
    the 2D usage-violation analysis).
    """
    conj = _as_conjunction(conjunction)
    method = method.lower()
    if method not in METHODS:
        raise ValueError(f"method {method!r}: expected one of {', '.join(METHODS)}")
    if hbr_m is not None and not (float(hbr_m) >= 0):
        raise ValueError(f"HBR {hbr_m!r} m: expected a non-negative number of metres")
    warnings: list[str] = list(conj.notes)
    hbr, hbr_src = resolve_hbr_m(conj, hbr_m)
    if hbr_src == "default":
        warnings.append(
            f"hard-body radius not given: default {DEFAULT_HBR_M:g} m used (combined radius of a "
            "large spacecraft and a small object); pass --hbr-m for the real value"
        )
    hbr_km = hbr / 1000.0
    r1, v1, r2, v2 = (np.asarray(x, float) for x in (conj.r1_km, conj.v1_km_s, conj.r2_km, conj.v2_km_s))
    covs = [conj.cov1_km, conj.cov2_km]
    cov_source = ["given", "given"]
    if method != "maxpc":
        for i, (rr, vv, reg, age, name) in enumerate(
            ((r1, v1, conj.regime1, conj.element_age_days1, conj.object1),
             (r2, v2, conj.regime2, conj.element_age_days2, conj.object2))
        ):
            if covs[i] is None:
                regime = reg or classify_regime(rr, vv)
                age_d = 3.0 if age is None else float(age)
                covs[i] = rtn_to_inertial_cov(default_covariance_rtn(regime, age_d), rr, vv)
                cov_source[i] = f"default {regime} {age_d:g} d"
                warnings.append(
                    f"{name} has no covariance: default {regime} covariance for a {age_d:g}-day-old "
                    "element set used (default_covariance_rtn); the Pc is indicative only"
                    + ("" if age is not None else " (element-set age unknown, 3 days assumed)")
                )
    geom = encounter_geometry(r1, v1, r2, v2, covs[0], covs[1])
    miss = float(geom.miss_km)
    speed = float(geom.relative_speed_km_s)
    details: dict[str, Any] = {
        "frame": conj.frame,
        "objects": [conj.object1, conj.object2],
        "hbr_source": hbr_src,
        "covariance_source": cov_source,
        "miss_rtn_km": geom.miss_rtn_km,
        "relative_velocity_rtn_km_s": geom.relative_velocity_rtn_km_s,
        "approach_angle_deg": math.degrees(float(geom.approach_angle_rad)),
        "tca_offset_s": float(geom.tca_offset_s),
    }
    if geom.mahalanobis is not None:
        details["mahalanobis"] = float(geom.mahalanobis)
        details["cov_plane_km2"] = geom.cov_plane_km2
    states = (r1, v1, covs[0], r2, v2, covs[1])

    if method in ("foster", "elrod", "chan"):
        if speed < ZERO_SPEED_KM_S:
            warnings.append("zero relative velocity: the 2D conjunction plane is undefined; use method='hall3d'")
        if method == "foster":
            pc, info = pc2d_foster(*states, hbr_km, rel_tol=options.get("rel_tol", 1e-10),
                                   hbr_type=options.get("hbr_type", "circle"))
            details["cov_plane_remediated"] = info.get("cov_plane_remediated", False)
        elif method == "elrod":
            pc = pc2d_elrod(*states, hbr_km, order=options.get("order", 64))
        else:
            pc, info = pc2d_chan(*states, hbr_km)
            details.update(chan_u=info.get("u"), chan_v=info.get("v"))
            warnings.append("Chan's series assumes an equal-area circle in an isotropic frame; "
                            "accurate only when the HBR is small against the covariance")
        if details.get("cov_plane_remediated"):
            warnings.append("combined conjunction-plane covariance not positive definite: eigenvalues "
                            "clipped to (1e-4 HBR)^2 as CARA does")
        if options.get("check_usage", True) and speed >= ZERO_SPEED_KM_S and hbr_km > 0 and math.isfinite(hbr_km):
            uv = usage_violations_2d(*states, hbr_km)
            details["usage_violations"] = uv
            warnings.extend(_uv_messages(uv))
    elif method == "hall3d":
        for i, c in enumerate(covs):
            if np.asarray(c).shape[0] < 6:
                raise ValueError(f"{(conj.object1, conj.object2)[i]}: hall3d needs a 6x6 covariance, got 3x3")
        res = pc3d_hall(*states, hbr_km, t_limits_s=options.get("t_limits_s"),
                        t_initial_s=options.get("t_initial_s"), rel_tol=options.get("rel_tol", 1e-6))
        pc = res.nc
        details.update(
            converged=res.converged, t_limits_s=res.t_limits_s, coppola_bounds_s=res.coppola_s,
            encounter_segment_from_two_body=res.segment_from_two_body, duration_s=res.duration_s,
            periods_s=(res.period1_s, res.period2_s), rate_evaluations=res.n_evaluations,
            frame_reoriented=res.reoriented,
        )
        warnings.extend(res.notes)
        if "CISLUNAR" in (classify_regime(r1, v1), classify_regime(r2, v2)):
            warnings.append("3D-Nc propagates Earth two-body motion over the encounter; for a cislunar "
                            "object the Moon's gravity over that span is not modelled")
        if not res.converged:
            warnings.append("3D-Nc did not converge (peak-overlap iteration failed where the collision "
                            "rate matters); Pc is NaN")
        if any(res.q_npd):
            warnings.append("equinoctial covariance not positive definite (not remediated, as CARA's default)")
        lo, hi = res.t_limits_s
        ta, tb = res.duration_s
        if math.isfinite(ta) and ((lo < 0 and ta / lo > NC3D_SEGMENT_FRACTION_MAX) or
                                  (hi > 0 and tb / hi > NC3D_SEGMENT_FRACTION_MAX)):
            warnings.append(
                f"3D-Nc usage violation: the collision rate extends over [{ta:.0f}, {tb:.0f}] s, more than "
                f"half of the two-body encounter segment [{lo:.0f}, {hi:.0f}] s; the conjunction is not "
                "isolated (repeating or very slow encounter), so Nc may not equal Pc"
            )
    elif method == "maxpc":
        have = covs[0] is not None and covs[1] is not None
        pc, info = pc_max(miss, hbr_km, states=states if have else None)
        details.update(info)
        warnings.append("maximum Pc: an upper bound over unknown covariance "
                        + ("size" if have else "size and shape") + ", not a probability estimate")
    else:  # mc
        est = pc_monte_carlo(*states, hbr_km, samples=int(options.get("samples", 1_000_000)),
                             seed=int(options.get("seed", 20240229)), window_s=options.get("window_s"),
                             confidence=float(options.get("confidence", 0.95)))
        pc = est.pc
        details.update(ci_low=est.ci_low, ci_high=est.ci_high, hits=est.hits, samples=est.samples,
                       confidence=est.confidence, seed=est.seed, dynamics="linear motion")
        warnings.append("Monte Carlo uses linear relative motion (not CARA's two-body SDMC); it checks "
                        "the 2D methods and does not capture curvilinear effects")
    return PcResult(
        pc=float(pc), method=method, miss_km=miss, relative_speed_km_s=speed, hbr_m=hbr,
        tca=conj.tca, warnings=warnings, details=details,
    )


def _uv_messages(uv: dict) -> list[str]:
    msgs = []
    names = uv.get("violations", [])
    if "npd" in names:
        which = [n for n, f in zip(("primary", "secondary", "relative"), uv["npd"]) if f]
        msgs.append("non-positive-definite position covariance (" + ", ".join(which) + "): remediated by "
                    "eigenvalue clipping; review the input covariances")
    if "extended" in names:
        msgs.append(f"2D-Pc usage violation (extended encounter, indicator {uv['extended']:.3g} > "
                    f"{UV_EXTENDED_MAX:g} of the orbital period): the short-encounter / linear-motion "
                    "assumption is questionable; use method='hall3d'")
    if "offset" in names:
        msgs.append(f"2D-Pc usage violation (encounter offset from TCA, indicator {uv['offset']:.3g} > "
                    f"{UV_OFFSET_MAX:g}): the encounter is not centred on TCA; use method='hall3d'")
    if "inaccurate" in names:
        msgs.append(f"2D-Pc usage violation (curvilinear effects, indicator {uv['inaccurate']:.3g} > "
                    f"{UV_INACCURATE_MAX:g}; estimated ln(Nc2D/Pc2D) = {uv.get('log_pc_correction', math.nan):.3g}): "
                    "the linear-motion assumption is questionable; use method='hall3d'")
    return msgs
