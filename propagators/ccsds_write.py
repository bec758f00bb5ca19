"""Write CCSDS OEM 2.0 KVN (CCSDS 502.0-B-2 section 5).

``write_oem(segments, originator=..., creation_date=...)`` renders
``OemSegment``s (as ``parse_oem`` returns them, or as built from propagated
states by ``oem_segment`` / ``oem_segments_from_states``, or one object's
states passed as keywords) so that ``cislunar propagate --format oem`` can
output any object.  Numbers are written as Python's shortest round-trip
``repr``, so ``parse_oem(write_oem(...))`` gives back the same float64
values; epochs to ``epoch_decimals`` decimals of a second (default 6, one
microsecond).

The core has no wall clock: the caller passes ``creation_date``.  States
with NaN rows (a propagator's failed epochs) are refused with the row
named, never silently dropped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Optional, Sequence

import numpy as np

from propagators import timeutil
from astropy.time import Time

from propagators.parsing.oem import (
    TIME_SCALES,
    OemCovariance,
    OemMetadata,
    OemSegment,
    format_epochs,
)

OEM_VERSION = "2.0"


def oem_segment(
    object_name: str,
    object_id: str,
    epochs: Time,
    r_km,
    v_km_s,
    *,
    center_name: str = "EARTH",
    ref_frame: str = "GCRF",
    time_system: str = "UTC",
    a_km_s2=None,
    covariances: Sequence[OemCovariance] = (),
    interpolation: Optional[str] = None,
    interpolation_degree: Optional[int] = None,
    useable_start_time: Optional[Time] = None,
    useable_stop_time: Optional[Time] = None,
    comments: Sequence[str] = (),
) -> OemSegment:
    """One segment from a state history ``(n, 3)`` km and km/s.

    Defaults suit the project's output: geocentric GCRS (CCSDS ``GCRF``),
    epochs in UTC.  ``epochs`` may be in any scale; they are written in
    ``time_system``.
    """
    ts = time_system.strip().upper()
    if ts not in TIME_SCALES:
        raise ValueError(f"time system {time_system!r}: expected one of {', '.join(TIME_SCALES)}")
    epochs = Time(epochs, copy=False)
    r = np.asarray(r_km, dtype=float).reshape(-1, 3)
    v = np.asarray(v_km_s, dtype=float).reshape(-1, 3)
    n = r.shape[0]
    if v.shape[0] != n or np.size(epochs.jd1) != n or n == 0:
        raise ValueError(f"{object_name}: {np.size(epochs.jd1)} epochs, {n} positions, {v.shape[0]} velocities; expected the same number (>= 1)")
    a = None if a_km_s2 is None else np.asarray(a_km_s2, dtype=float).reshape(-1, 3)
    bad = ~np.all(np.isfinite(r), axis=1) | ~np.all(np.isfinite(v), axis=1)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{object_name} ({object_id}): state {i} at {epochs.utc[i].isot} UTC is not finite "
            f"({int(bad.sum())} such rows); an OEM cannot hold them: write the good span as its own segment"
        )
    epochs = epochs.reshape((n,))
    if n > 1 and np.any(np.diff((epochs.tdb.jd1 - epochs.tdb.jd1[0]) + (epochs.tdb.jd2 - epochs.tdb.jd2[0])) <= 0):
        raise ValueError(f"{object_name}: epochs must be strictly increasing")
    scale = TIME_SCALES[ts]
    md = OemMetadata(
        object_name=object_name,
        object_id=object_id,
        center_name=center_name,
        ref_frame=ref_frame,
        time_system=ts,
        start_time=getattr(epochs[0], scale),
        stop_time=getattr(epochs[-1], scale),
        useable_start_time=useable_start_time,
        useable_stop_time=useable_stop_time,
        interpolation=interpolation.upper() if interpolation else None,
        interpolation_degree=interpolation_degree,
    )
    return OemSegment(md, getattr(epochs, scale), r, v, a, tuple(covariances), tuple(comments))


def oem_segments_from_states(
    object_names: Sequence[str],
    object_ids: Sequence[str],
    epochs: Time,
    r_km,
    v_km_s,
    **kwargs,
) -> list[OemSegment]:
    """One segment per object from ``(n_objects, n_times, 3)`` arrays."""
    r = np.asarray(r_km, dtype=float)
    v = np.asarray(v_km_s, dtype=float)
    if r.ndim == 2:
        r, v = r[None], v[None]
    if not (len(object_names) == len(object_ids) == r.shape[0] == v.shape[0]):
        raise ValueError(f"{len(object_names)} names, {len(object_ids)} ids, {r.shape[0]} state histories: expected the same number")
    return [oem_segment(name, oid, epochs, r[i], v[i], **kwargs) for i, (name, oid) in enumerate(zip(object_names, object_ids))]


def _num(x: float) -> str:
    return repr(float(x))


def _creation_text(creation_date) -> str:
    if isinstance(creation_date, str):
        return creation_date
    if isinstance(creation_date, datetime):
        return timeutil.iso_z(creation_date).rstrip("Z")
    if isinstance(creation_date, Time):
        return Time(creation_date.utc, precision=3).isot
    raise TypeError(f"creation_date {creation_date!r}: expected an aware UTC datetime, an astropy Time or a string")


def write_oem(
    segments: OemSegment | Iterable[OemSegment] | None = None,
    *,
    originator: str,
    creation_date=None,
    comments: Sequence[str] = (),
    comment: Optional[str] = None,
    epoch_decimals: int = 6,
    object_name: Optional[str] = None,
    object_id: Optional[str] = None,
    epochs: Optional[Time] = None,
    epochs_utc=None,
    r_km=None,
    v_km_s=None,
    **segment_options,
) -> str:
    """OEM 2.0 KVN text.

    Either ``segments`` (one ``OemSegment`` or several), or one object's
    states given directly: ``object_name``, ``object_id``, ``epochs`` (Time)
    or ``epochs_utc`` (aware UTC datetimes), ``r_km``, ``v_km_s`` and any
    ``oem_segment`` option (``center_name``, ``ref_frame``, ``time_system``,
    ...).  ``creation_date`` (aware UTC datetime, Time or CCSDS string) is
    required: the core reads no clock, so the caller stamps the message.
    """
    if creation_date is None:
        raise TypeError(
            "write_oem() needs creation_date=...: the core reads no clock (same input, same output); "
            "pass creation_date=datetime.now(timezone.utc) from the caller"
        )
    if comment:
        comments = [*comments, comment]
    if segments is None:
        if epochs is None and epochs_utc is not None:
            epochs = epochs_utc if isinstance(epochs_utc, Time) else timeutil.to_time(list(epochs_utc))
        if object_name is None or object_id is None or epochs is None or r_km is None or v_km_s is None:
            raise TypeError("write_oem() needs segments, or object_name, object_id, epochs (or epochs_utc), r_km and v_km_s")
        segments = oem_segment(object_name, object_id, epochs, r_km, v_km_s, **segment_options)
    elif segment_options or object_name is not None:
        raise TypeError(f"write_oem(): segment options {sorted(segment_options) or ['object_name']} given with segments")
    if isinstance(segments, OemSegment):
        segments = [segments]
    segments = list(segments)
    if not segments:
        raise ValueError("an OEM needs at least one segment")
    out = [f"CCSDS_OEM_VERS = {OEM_VERSION}"]
    out += [f"COMMENT {c}" for c in comments]
    out += [f"CREATION_DATE = {_creation_text(creation_date)}", f"ORIGINATOR = {originator}", ""]
    for seg in segments:
        md = seg.metadata
        ts = md.time_system

        def ep(t: Time) -> str:
            return format_epochs(t, ts, epoch_decimals)[0]

        out.append("META_START")
        out += [f"COMMENT {c}" for c in md.comments]
        out.append(f"OBJECT_NAME = {md.object_name}")
        out.append(f"OBJECT_ID = {md.object_id}")
        out.append(f"CENTER_NAME = {md.center_name}")
        out.append(f"REF_FRAME = {md.ref_frame}")
        if md.ref_frame_epoch:
            out.append(f"REF_FRAME_EPOCH = {md.ref_frame_epoch}")
        out.append(f"TIME_SYSTEM = {ts}")
        out.append(f"START_TIME = {ep(md.start_time)}")
        if md.useable_start_time is not None:
            out.append(f"USEABLE_START_TIME = {ep(md.useable_start_time)}")
        if md.useable_stop_time is not None:
            out.append(f"USEABLE_STOP_TIME = {ep(md.useable_stop_time)}")
        out.append(f"STOP_TIME = {ep(md.stop_time)}")
        if md.interpolation:
            out.append(f"INTERPOLATION = {md.interpolation}")
        if md.interpolation_degree is not None:
            out.append(f"INTERPOLATION_DEGREE = {md.interpolation_degree}")
        out.append("META_STOP")
        out.append("")
        out += [f"COMMENT {c}" for c in seg.comments]
        epochs = format_epochs(seg.epochs, ts, epoch_decimals)
        has_a = seg.a_km_s2 is not None
        for i, e in enumerate(epochs):
            nums = list(seg.r_km[i]) + list(seg.v_km_s[i])
            if has_a and np.all(np.isfinite(seg.a_km_s2[i])):
                nums += list(seg.a_km_s2[i])
            out.append(e + " " + " ".join(_num(x) for x in nums))
        if seg.covariances:
            out.append("")
            out.append("COVARIANCE_START")
            for cov in seg.covariances:
                out += [f"COMMENT {c}" for c in cov.comments]
                out.append(f"EPOCH = {ep(cov.epoch)}")
                if cov.ref_frame:
                    out.append(f"COV_REF_FRAME = {cov.ref_frame}")
                m = np.asarray(cov.matrix, dtype=float)
                for i in range(6):
                    out.append(" ".join(_num(m[i, j]) for j in range(i + 1)))
            out.append("COVARIANCE_STOP")
        out.append("")
    return "\n".join(out) + "\n"
