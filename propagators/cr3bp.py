"""Circular restricted three-body problem (Earth-Moon), nondimensional.

Synodic frame and units as in the JPL Three-Body Periodic Orbit catalogue
(ssd-api.jpl.nasa.gov/periodic_orbits.api): barycentric rotating frame,
Earth (mass 1 - mu) at (-mu, 0, 0), Moon (mass mu) at (1 - mu, 0, 0),
unit length = Earth-Moon distance, unit time = 1 / mean motion, so the
frame turns at rate 1.  Equations of motion:

    x'' - 2 y' = dU/dx,  y'' + 2 x' = dU/dy,  z'' = dU/dz,
    U = (1 - mu) / r1 + mu / r2 + (x^2 + y^2) / 2,

and the Jacobi constant is ``C = 2 U - v^2`` (the catalogue's convention).

Ephemeris conversion (``synodic_to_gcrs`` / ``gcrs_to_synodic``).  At each
epoch the synodic frame is the *instantaneous* Earth-Moon rotating frame of
DE421 (``frames_cislunar.earth_moon_frame``: x along Earth->Moon, z along
the Moon's orbital angular momentum), with origin at the barycentre of the
CR3BP ``mu`` (``mu * r_moon`` from the Earth), lengths scaled by the
instantaneous Earth-Moon distance d(t) and times by the instantaneous
angular rate n(t) = |h| / d^2 (a "pulsating" frame):

    r_gcrs = mu r_moon + d C rho
    v_gcrs = mu v_moon + omega x (d C rho) + C (d_dot rho + d n rho')

where C is the triad (columns x_hat, y_hat, z_hat), omega its angular
velocity, rho the nondimensional position and rho' = d rho / d tau the
nondimensional velocity.  The Earth point (-mu, 0, 0) maps to the geocentre
and the Moon point (1 - mu, 0, 0) at rest maps exactly to the DE421 Moon.
The inverse is the algebraic inverse, so a round trip is exact to rounding.
Mapping nondimensional *time* to epochs is the caller's choice (e.g.
``epoch0 + tau * tunit_s``); these functions convert states at given epochs.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.integrate import solve_ivp

from propagators import timeutil  # noqa: F401  (offline IERS set-up first)
from astropy.time import Time

from propagators.frames_cislunar import _check_shapes, earth_moon_frame

#: Earth-Moon mass ratio of the JPL Three-Body Periodic Orbit catalogue.
MU_EARTH_MOON_JPL_CATALOGUE = 1.215058560962404e-2

DEFAULT_RTOL = 1e-13
DEFAULT_ATOL = 1e-13


@njit(cache=True)
def _rhs(t, s, mu):  # pragma: no cover  (numba-compiled)
    x, y, z, vx, vy, vz = s[0], s[1], s[2], s[3], s[4], s[5]
    dx1 = x + mu
    dx2 = x - 1.0 + mu
    r1sq = dx1 * dx1 + y * y + z * z
    r2sq = dx2 * dx2 + y * y + z * z
    r13 = r1sq * np.sqrt(r1sq)
    r23 = r2sq * np.sqrt(r2sq)
    k1 = (1.0 - mu) / r13
    k2 = mu / r23
    out = np.empty(6)
    out[0] = vx
    out[1] = vy
    out[2] = vz
    out[3] = 2.0 * vy + x - k1 * dx1 - k2 * dx2
    out[4] = -2.0 * vx + y - k1 * y - k2 * y
    out[5] = -k1 * z - k2 * z
    return out


def propagate(
    state0,
    t,
    mu: float,
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
) -> np.ndarray:
    """Nondimensional CR3BP states at the nondimensional times ``t``.

    ``state0`` (6,) is the state at ``t[0]``; ``t`` is monotonic (forward
    or backward).  Returns ``(len(t), 6)``.  ``state0`` may also be
    ``(n_objects, 6)``, giving ``(n_objects, len(t), 6)``; each object is
    integrated on its own adaptive steps (a Python loop by design: step
    sizes differ per orbit).  Integrator: SciPy DOP853 (Hairer's 8(5,3)
    Dormand-Prince) on a numba-compiled right-hand side, rtol = atol = 1e-13
    by default, output by the method's dense interpolant.
    """
    t = np.atleast_1d(np.asarray(t, dtype=float))
    s0 = np.asarray(state0, dtype=float)
    if s0.shape[-1:] != (6,) or s0.ndim > 2:
        raise ValueError(f"state0 of shape {s0.shape}: expected (6,) or (n_objects, 6)")
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"times of shape {t.shape}: expected a 1-D array with at least one time")
    steps = np.diff(t)
    if t.size > 1 and not (np.all(steps > 0) or np.all(steps < 0)):
        raise ValueError("times must be strictly increasing (or strictly decreasing)")
    if s0.ndim == 2:
        return np.stack([propagate(s, t, mu, rtol=rtol, atol=atol) for s in s0])
    if t.size == 1:
        return s0[None, :].copy()
    sol = solve_ivp(
        _rhs,
        (t[0], t[-1]),
        s0,
        method="DOP853",
        t_eval=t,
        rtol=rtol,
        atol=atol,
        args=(float(mu),),
    )
    if not sol.success:
        raise RuntimeError(f"CR3BP integration failed: {sol.message}")
    return sol.y.T.copy()


def potential(state, mu: float) -> np.ndarray:
    """Pseudo-potential U = (1 - mu)/r1 + mu/r2 + (x^2 + y^2)/2."""
    s = np.asarray(state, dtype=float)
    x, y, z = s[..., 0], s[..., 1], s[..., 2]
    r1 = np.sqrt((x + mu) ** 2 + y**2 + z**2)
    r2 = np.sqrt((x - 1.0 + mu) ** 2 + y**2 + z**2)
    return (1.0 - mu) / r1 + mu / r2 + 0.5 * (x**2 + y**2)


def jacobi(state, mu: float):
    """Jacobi constant C = 2U - v^2 for a (6,) state (float) or (..., 6) states."""
    s = np.asarray(state, dtype=float)
    if s.shape[-1:] != (6,):
        raise ValueError(f"state of shape {s.shape}: expected (6,) or (n, 6)")
    c = 2.0 * potential(s, mu) - np.sum(s[..., 3:6] ** 2, axis=-1)
    return float(c) if s.ndim == 1 else c


def synodic_to_gcrs(states_nd, epochs: Time, mu: float):
    """Nondimensional synodic states at ``epochs`` -> GCRS (km, km/s).

    ``states_nd`` is (n_times, 6) or (n_objects, n_times, 6) for an array
    ``epochs`` (or (..., 6) for a scalar epoch).  Convention in the module
    docstring (pulsating instantaneous frame of DE421, barycentre of ``mu``).
    """
    s = np.asarray(states_nd, dtype=float)
    if s.shape[-1:] != (6,):
        raise ValueError(f"states of shape {s.shape}: expected (..., 6)")
    _check_shapes(epochs, s[..., :3])
    f = earth_moon_frame(epochs)
    d = f.distance_km[..., None]
    rho = s[..., 0:3]
    rho_dot = s[..., 3:6]
    r_rel_rot = d * rho
    r_rel = np.einsum("...ij,...j->...i", f.basis_gcrs, r_rel_rot)
    v_rot = f.range_rate_km_s[..., None] * rho + (d * f.rate_rad_s[..., None]) * rho_dot
    v_rel = np.einsum("...ij,...j->...i", f.basis_gcrs, v_rot) + np.cross(f.omega_gcrs_rad_s, r_rel)
    return r_rel + mu * f.r_moon_gcrs_km, v_rel + mu * f.v_moon_gcrs_km_s


def gcrs_to_synodic(r_gcrs_km, v_gcrs_km_s, epochs: Time, mu: float) -> np.ndarray:
    """GCRS (km, km/s) at ``epochs`` -> nondimensional synodic states (..., 6).

    Exact inverse of ``synodic_to_gcrs``.
    """
    r = np.asarray(r_gcrs_km, dtype=float)
    v = np.asarray(v_gcrs_km_s, dtype=float)
    _check_shapes(epochs, r, v)
    f = earth_moon_frame(epochs)
    d = f.distance_km[..., None]
    r_rel = r - mu * f.r_moon_gcrs_km
    v_rel = v - mu * f.v_moon_gcrs_km_s - np.cross(f.omega_gcrs_rad_s, r_rel)
    rho = np.einsum("...ji,...j->...i", f.basis_gcrs, r_rel) / d
    v_rot = np.einsum("...ji,...j->...i", f.basis_gcrs, v_rel)
    rho_dot = (v_rot - f.range_rate_km_s[..., None] * rho) / (d * f.rate_rad_s[..., None])
    return np.concatenate([rho, rho_dot], axis=-1)
