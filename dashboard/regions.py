"""The operating regions as the dashboard draws them and measures them.

The definitions are the screening core's (``propagators.screening.regions``:
IADC LEO and GEO protected regions, the GNSS MEO band, the Molniya and
Tundra HEO families, each documented there with its source), so the page
and the screen speak of the same regions.  This module only adapts them:

* ``region_bands()``: the spatial regions as altitude bands (with a latitude
  limit for GEO) to draw to scale; the HEO families are defined by orbital
  elements and have no shape to draw.
* ``region_distances(r, v)``: the core's signed distance of each stored
  state to each region (km, negative inside: the depth).  For the HEO
  families it is the core's km-equivalent distance in orbit space.
* ``sphere_mesh``: meshes of spheres and latitude bands, km.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from propagators.screening import regions as core_regions

EARTH_RADIUS_KM = core_regions.R_EARTH_KM
MOON_RADIUS_KM = 1737.4


@dataclass(frozen=True)
class RegionBand:
    """A drawable region: a shell of altitudes, optionally a latitude band of it."""

    name: str
    min_alt_km: float
    max_alt_km: float
    max_abs_lat_deg: float | None = None
    kind: str = ""  # "LEO", "GNSS", "GEO": picks the colour

    @property
    def min_radius_km(self) -> float:
        return EARTH_RADIUS_KM + self.min_alt_km

    @property
    def max_radius_km(self) -> float:
        return EARTH_RADIUS_KM + self.max_alt_km


def screening_regions() -> tuple:
    """The core's default regions (the screen's, unless configured otherwise)."""
    return core_regions.default_regions()


def band_of(region) -> RegionBand | None:
    """The drawable band of one core region, or None (element-defined families)."""
    if isinstance(region, core_regions.LeoProtectedRegion):
        return RegionBand(region.name, 0.0, region.max_altitude_km, None, "LEO")
    if isinstance(region, core_regions.GnssMeoBand):
        return RegionBand(region.name, region.min_altitude_km, region.max_altitude_km, None, "GNSS")
    if isinstance(region, core_regions.GeoProtectedRegion):
        return RegionBand(region.name, region.geo_altitude_km - region.half_height_km,
                          region.geo_altitude_km + region.half_height_km, region.max_latitude_deg, "GEO")
    return None


def region_bands(regions=None) -> tuple[RegionBand, ...]:
    regions = screening_regions() if regions is None else regions
    return tuple(b for b in (band_of(r) for r in regions) if b is not None)


def region_distances(r_gcrs_km: np.ndarray, v_gcrs_km_s: np.ndarray, regions=None) -> dict[str, np.ndarray]:
    """Signed distance (km, negative inside) of each state to each region."""
    regions = screening_regions() if regions is None else regions
    r = np.asarray(r_gcrs_km, float)
    v = np.asarray(v_gcrs_km_s, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {reg.name: np.asarray(reg.signed_distance_km(r, v), float) for reg in regions}


def altitude_km(r_km: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.asarray(r_km, float), axis=-1) - EARTH_RADIUS_KM


def latitude_deg(r_km: np.ndarray) -> np.ndarray:
    r = np.asarray(r_km, float)
    return np.degrees(np.arctan2(r[..., 2], np.hypot(r[..., 0], r[..., 1])))


def sphere_mesh(radius_km: float, n_lon: int = 36, n_lat: int = 18, lat_limit_deg: float | None = None) -> np.ndarray:
    """``(n_lon + 1, n_lat + 1, 3)`` points of a sphere (or of a latitude band of it), km."""
    lim = math.radians(lat_limit_deg) if lat_limit_deg is not None else math.pi / 2
    lon = np.linspace(0.0, 2.0 * math.pi, n_lon + 1)
    lat = np.linspace(-lim, lim, n_lat + 1)
    lon_g, lat_g = np.meshgrid(lon, lat, indexing="ij")
    x = radius_km * np.cos(lat_g) * np.cos(lon_g)
    y = radius_km * np.cos(lat_g) * np.sin(lon_g)
    z = radius_km * np.sin(lat_g)
    return np.stack([x, y, z], axis=-1)
