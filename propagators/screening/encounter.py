"""Encounter geometry at the time of closest approach (TCA).

Two states (km, km/s, one inertial frame, both at TCA) and their
covariances (km^2, km^2/s, km^2/s^2 in the same inertial frame) give:

* the miss vector and its RTN components relative to the primary,
* the relative speed and the approach angle between the two velocities,
* the conjunction (encounter, "B-") plane: the plane through the primary
  normal to the relative velocity,
* the combined position covariance projected into that plane (2x2) and the
  Mahalanobis distance of the miss vector in it,
* RTN <-> inertial covariance rotations.

Conventions follow NASA CARA (``Pc2D_Foster.m``): relative position and
velocity are primary minus secondary, ``r = r1 - r2``, ``v = v1 - v2``; the
conjunction-plane frame has ``y = v/|v|``, ``z = (r x v)/|r x v|`` and
``x = y x z``; the miss vector lies along +x with length ``|r|`` (the full
separation, so states slightly off TCA keep CARA's convention); the plane
covariance is the x-z block of the rotated combined covariance.

RTN (radial, transverse, normal) of an object: ``R = r/|r|``,
``N = (r x v)/|r x v|``, ``T = N x R``, built from the object's own
inertial state (CCSDS 508.0-B-1 section 3.5 and CARA's ``RIC2ECI``). The 6x6
rotation is block-diagonal (the rotating-frame coupling term is not added),
as CARA does for CDM covariances.

Every function accepts one conjunction (vectors shaped ``(3,)``) or a batch
(``(n, 3)``, covariances ``(n, 3, 3)`` / ``(n, 6, 6)``): the leading axes
broadcast. Degenerate input (zero relative velocity, zero separation) gives
NaN where a quantity is undefined, never an exception, so a batch keeps its
length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "EncounterGeometry",
    "rtn_basis",
    "rtn_to_inertial_cov",
    "inertial_to_rtn_cov",
    "conjunction_plane_basis",
    "project_to_conjunction_plane",
    "combined_plane_covariance",
    "encounter_geometry",
]


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return x / norm


def rtn_basis(r_km: np.ndarray, v_km_s: np.ndarray) -> np.ndarray:
    """Rows R, T, N of the RTN frame of each state: ``(..., 3, 3)``.

    ``M @ x_inertial`` gives RTN components; ``M.T @ x_rtn`` gives inertial.
    """
    r = np.asarray(r_km, dtype=float)
    v = np.asarray(v_km_s, dtype=float)
    r_hat = _unit(r)
    n_hat = _unit(np.cross(r, v))
    t_hat = np.cross(n_hat, r_hat)
    return np.stack([r_hat, t_hat, n_hat], axis=-2)


def _block_rotation(m3: np.ndarray, size: int) -> np.ndarray:
    """Rotation acting on the first ``min(size, 6)`` state components.

    Rows beyond 6 (CDM drag and SRP terms, m^3/kg...) are left unrotated.
    """
    shape = m3.shape[:-2] + (size, size)
    out = np.zeros(shape)
    idx = np.arange(size)
    out[..., idx, idx] = 1.0
    out[..., 0:3, 0:3] = m3
    if size >= 6:
        out[..., 3:6, 3:6] = m3
    return out


def rtn_to_inertial_cov(cov_rtn: np.ndarray, r_km: np.ndarray, v_km_s: np.ndarray) -> np.ndarray:
    """Rotate a 3x3, 6x6 (or larger, CDM 9x9) RTN covariance to inertial axes."""
    c = np.asarray(cov_rtn, dtype=float)
    m = _block_rotation(rtn_basis(r_km, v_km_s), c.shape[-1])
    mt = np.swapaxes(m, -1, -2)
    return mt @ c @ m


def inertial_to_rtn_cov(cov_inertial: np.ndarray, r_km: np.ndarray, v_km_s: np.ndarray) -> np.ndarray:
    """Rotate a 3x3, 6x6 (or larger) inertial covariance to RTN axes."""
    c = np.asarray(cov_inertial, dtype=float)
    m = _block_rotation(rtn_basis(r_km, v_km_s), c.shape[-1])
    return m @ c @ np.swapaxes(m, -1, -2)


def conjunction_plane_basis(r_rel_km: np.ndarray, v_rel_km_s: np.ndarray) -> np.ndarray:
    """CARA's encounter frame, rows ``x, y, z``: ``(..., 3, 3)``.

    ``y`` is along the relative velocity, ``z`` along ``r x v`` and ``x``
    completes the right-handed set (in the plane normal to ``v``, along the
    miss vector at TCA). ``r``/``v`` are primary minus secondary.
    """
    r = np.asarray(r_rel_km, dtype=float)
    v = np.asarray(v_rel_km_s, dtype=float)
    y = _unit(v)
    z = _unit(np.cross(r, v))
    x = np.cross(y, z)
    return np.stack([x, y, z], axis=-2)


def project_to_conjunction_plane(cov3_km2: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """x-z block of ``B C B^T``: the 2x2 conjunction-plane covariance."""
    c = np.asarray(cov3_km2, dtype=float)[..., 0:3, 0:3]
    rot = basis @ c @ np.swapaxes(basis, -1, -2)
    out = np.empty(rot.shape[:-2] + (2, 2))
    out[..., 0, 0] = rot[..., 0, 0]
    out[..., 0, 1] = rot[..., 0, 2]
    out[..., 1, 0] = rot[..., 2, 0]
    out[..., 1, 1] = rot[..., 2, 2]
    return out


def combined_plane_covariance(
    r1_km, v1_km_s, cov1, r2_km, v2_km_s, cov2
) -> tuple[np.ndarray, np.ndarray]:
    """(basis, 2x2 combined covariance) in the conjunction plane.

    Position blocks of the two covariances are added (uncorrelated errors,
    the standard assumption of the 2D methods).
    """
    r = np.asarray(r1_km, float) - np.asarray(r2_km, float)
    v = np.asarray(v1_km_s, float) - np.asarray(v2_km_s, float)
    basis = conjunction_plane_basis(r, v)
    comb = np.asarray(cov1, float)[..., 0:3, 0:3] + np.asarray(cov2, float)[..., 0:3, 0:3]
    return basis, project_to_conjunction_plane(comb, basis)


@dataclass(frozen=True)
class EncounterGeometry:
    """Geometry of one conjunction (or arrays of them, leading axes alike).

    ``miss_rtn_km`` are the components of secondary minus primary position
    in the primary's RTN frame (the CDM ``RELATIVE_POSITION_R/T/N``
    convention); ``relative_velocity_rtn_km_s`` likewise. ``approach_angle_rad``
    is the angle between the two inertial velocity vectors (0 for a
    co-orbital overtaking, pi for head-on). ``tca_offset_s`` is the time to
    the rectilinear closest approach from the given epoch (0 when the states
    are exactly at TCA). ``miss_plane_km`` is the miss vector in the
    conjunction plane (x, z) and ``cov_plane_km2`` the combined 2x2 position
    covariance there; ``mahalanobis`` is ``sqrt(d^T C^-1 d)`` in that plane
    (NaN without covariances).
    """

    miss_km: np.ndarray
    miss_rtn_km: np.ndarray
    relative_speed_km_s: np.ndarray
    relative_velocity_rtn_km_s: np.ndarray
    approach_angle_rad: np.ndarray
    tca_offset_s: np.ndarray
    plane_basis: np.ndarray
    miss_plane_km: np.ndarray
    cov_plane_km2: np.ndarray | None
    mahalanobis: np.ndarray | None


def encounter_geometry(
    r1_km, v1_km_s, r2_km, v2_km_s, cov1=None, cov2=None
) -> EncounterGeometry:
    """Encounter geometry from primary (1) and secondary (2) states at TCA.

    Covariances are optional (3x3 or 6x6, inertial, km units); without both
    the plane covariance and Mahalanobis distance are None.
    """
    r1 = np.asarray(r1_km, float)
    v1 = np.asarray(v1_km_s, float)
    r2 = np.asarray(r2_km, float)
    v2 = np.asarray(v2_km_s, float)
    r = r1 - r2
    v = v1 - v2
    miss = np.linalg.norm(r, axis=-1)
    speed = np.linalg.norm(v, axis=-1)
    m_rtn = rtn_basis(r1, v1)
    miss_rtn = np.einsum("...ij,...j->...i", m_rtn, r2 - r1)
    vel_rtn = np.einsum("...ij,...j->...i", m_rtn, v2 - v1)
    cosang = np.einsum("...i,...i->...", _unit(v1), _unit(v2))
    angle = np.arccos(np.clip(cosang, -1.0, 1.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        t_off = -np.einsum("...i,...i->...", r, v) / speed**2
    basis = conjunction_plane_basis(r, v)
    rp = np.einsum("...ij,...j->...i", basis, r)
    miss_plane = np.stack([rp[..., 0], rp[..., 2]], axis=-1)
    cov_plane = None
    maha = None
    if cov1 is not None and cov2 is not None:
        comb = np.asarray(cov1, float)[..., 0:3, 0:3] + np.asarray(cov2, float)[..., 0:3, 0:3]
        cov_plane = project_to_conjunction_plane(comb, basis)
        a, b, c = cov_plane[..., 0, 0], cov_plane[..., 0, 1], cov_plane[..., 1, 1]
        x, z = miss_plane[..., 0], miss_plane[..., 1]
        det = a * c - b * b
        with np.errstate(invalid="ignore", divide="ignore"):
            q = (c * x * x - 2.0 * b * x * z + a * z * z) / det
            # NaN (not an exception) for a singular or non-positive-definite
            # plane covariance, so a batch keeps its length.
            maha = np.where((det > 0) & (a > 0) & (q >= 0), np.sqrt(np.where(q >= 0, q, 0.0)), np.nan)
    return EncounterGeometry(
        miss_km=miss,
        miss_rtn_km=miss_rtn,
        relative_speed_km_s=speed,
        relative_velocity_rtn_km_s=vel_rtn,
        approach_angle_rad=angle,
        tca_offset_s=t_off,
        plane_basis=basis,
        miss_plane_km=miss_plane,
        cov_plane_km2=cov_plane,
        mahalanobis=maha,
    )
