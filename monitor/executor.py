"""Where the cycle's heavy stages run: in this process, on a local Dask
cluster, or on a remote Dask scheduler -- one interface, identical results.

    with make_executor() as ex:                        # in-process (default)
        res = ex.propagate_sgp4(elements, t, "GCRS")   # -> sgp4_batch.Sgp4Result
        table = ex.screen(res.r_km, res.v_km_s, t_s, threshold_km=5.0)

``make_executor(kind)``:

* ``"inprocess"``: the core functions called directly (the reference);
* ``"local"``: a ``distributed.LocalCluster`` on 127.0.0.1 owned by the
  executor (``n_workers`` processes, ``threads_per_worker`` threads each,
  no dashboard); ``close()`` stops it;
* ``"address"``: a running scheduler, ``Client("tcp://host:8786")``;
  ``address`` defaults to ``$CISLUNAR_DASK_ADDRESS``.  The workers must run
  the same checkout and the same versions of sgp4, numpy, astropy and numba
  (they import this module and ``propagators``).

``kind=None`` takes ``$CISLUNAR_EXECUTOR`` (one of the three) if set, else
``"address"`` when ``$CISLUNAR_DASK_ADDRESS`` is set, else ``"inprocess"``.

How the work is split, and why the results are identical
--------------------------------------------------------
* SGP4: by **object chunks**.  Element sets travel as plain data
  (``MeanElements``: TLE line pairs or OMM numbers; never ``Satrec``
  objects, which are C structures bound to one process), each worker builds
  its ``Satrec``s and propagates its chunk in TEME; meanwhile the client
  builds the per-epoch TEME -> GCRS / ITRS matrices once (astropy, ~0.3 ms
  per epoch: per chunk it would cost more than SGP4) and copies them to
  every worker, where each chunk is rotated with the arithmetic of
  ``sgp4_batch.propagate``; the client copies the chunks into place in
  order.  SGP4 is per object and the rotations are per epoch, so every
  state is bit-for-bit the one the in-process call gives
  (``tests/test_executor_dask.py`` compares bytes).
* Every state crosses the network twice on a cluster (back to the client
  for storage, out again in windows for screening): 48 bytes per state.
  On one small machine that traffic, not the arithmetic, bounds the
  speed-up (``bench/bench_dask.py`` measures it).
* Screening: by **time windows** that share their end sample (intervals
  ``[k0, k1]``, ``[k1, k2]``...), every window holding the whole catalogue
  (all-versus-all needs every pair).  Each window is screened with
  ``screen_conjunctions``; a minimum at a shared sample belongs to the
  interval that ends there, so no event is dropped or counted twice.  The
  only difference between a window and the full horizon is the
  ``at_window_edge`` rows the core adds at the two ends of whatever it is
  given: those at a window end that is not an end of the whole horizon are
  artefacts of the split and are removed here.  Event rows are computed from
  the same samples by the same code, so the tables are identical.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Sequence

import numpy as np

from propagators import sgp4_batch
from propagators.elements import MeanElements
from propagators.errors import ConfigError
from propagators.frames import EARTH_ROTATION_RAD_S, gcrs_to_itrs_matrix, rotate, teme_to_gcrs_matrix
from propagators.screening.conjunctions import CONJUNCTION_DTYPE, screen_conjunctions

ADDRESS_ENV = "CISLUNAR_DASK_ADDRESS"
KIND_ENV = "CISLUNAR_EXECUTOR"
KINDS = ("inprocess", "local", "address")


# --------------------------------------------------------------------------
# worker-side functions (module level: workers import them by name)


def propagate_chunk(elements: Sequence[MeanElements], t, frame: str) -> sgp4_batch.Sgp4Result:
    """SGP4 states of one chunk of element sets (runs on a worker)."""
    if len(elements) == 0:
        m = len(np.atleast_1d(t.jd1))
        return sgp4_batch.Sgp4Result(np.zeros((0, m, 3)), np.zeros((0, m, 3)), np.zeros((0, m), np.uint8),
                                     frame.upper())
    satrecs = [sgp4_batch.satrec_from_elements(e) for e in elements]
    return sgp4_batch.propagate(satrecs, t, frame)


def frame_matrices(t, frame: str) -> np.ndarray:
    """Per-epoch rotation ``(n_times, 3, 3)`` from TEME to ``frame`` (GCRS
    or ITRS), exactly as ``sgp4_batch.propagate`` builds it.  Computed once
    per call (about 0.3 ms per epoch with astropy), not once per chunk."""
    m = teme_to_gcrs_matrix(t)
    if frame == "ITRS":
        m = np.einsum("tij,tjk->tik", gcrs_to_itrs_matrix(t), m)
    return m


def rotate_chunk(teme: sgp4_batch.Sgp4Result, m: np.ndarray, frame: str) -> sgp4_batch.Sgp4Result:
    """TEME states of one chunk rotated to ``frame`` with the matrices of
    ``frame_matrices``: the arithmetic of ``sgp4_batch.propagate`` step by
    step (the rotation is per epoch, so chunking by objects changes no bit;
    ``tests/test_executor_dask.py`` holds both to the same bytes)."""
    r = rotate(m, teme.r_km)
    v = rotate(m, teme.v_km_s)
    if frame == "ITRS":
        v = v - np.cross(np.array([0.0, 0.0, EARTH_ROTATION_RAD_S]), r)
    return sgp4_batch.Sgp4Result(r, v, teme.error_code, frame)


def screen_window(r_gcrs_km, v_gcrs_km_s, t_s, threshold_km: float, watch, keep_start_edge: bool,
                  keep_end_edge: bool) -> np.ndarray:
    """Screen one time window (runs on a worker).

    ``keep_start_edge`` / ``keep_end_edge``: whether this window's first /
    last sample is also the first / last of the whole horizon; if not, the
    ``at_window_edge`` rows the core reports there are dropped (the true
    minimum lies in the neighbouring window, which reports it).
    """
    table = screen_conjunctions(r_gcrs_km, v_gcrs_km_s, t_s, threshold_km=threshold_km, watch=watch)
    edge = table["at_window_edge"]
    if not edge.any() or (keep_start_edge and keep_end_edge):
        return table
    # a start-edge row has tca_s == t_s[0] exactly; an end-edge row t_s[-2] + 1.0 * h,
    # which may differ from t_s[-1] by rounding: split at the window's middle
    at_start = table["tca_s"] <= 0.5 * (t_s[0] + t_s[-1])
    drop = edge & ((at_start & (not keep_start_edge)) | (~at_start & (not keep_end_edge)))
    return table[~drop]


def screen_window_rv(rv: tuple[np.ndarray, np.ndarray], t_s, threshold_km: float, watch, keep_start_edge: bool,
                     keep_end_edge: bool) -> np.ndarray:
    """``screen_window`` on the ``(r_gcrs_km, v_gcrs_km_s)`` pair of one
    window (shipped to a worker as one piece)."""
    return screen_window(rv[0], rv[1], t_s, threshold_km, watch, keep_start_edge, keep_end_edge)


def _sorted_table(table: np.ndarray) -> np.ndarray:
    # the order screen_conjunctions returns: by TCA, then i, then j
    return table[np.lexsort((table["j"], table["i"], table["tca_s"]))]


def _plain(elements) -> list[MeanElements]:
    """Element sets as plain picklable data, without the source text and
    parser extras (they are not needed to propagate)."""
    out = []
    for q, e in enumerate(elements):
        if not isinstance(e, MeanElements):
            raise ConfigError(f"elements[{q}]", type(e).__name__, "propagators.elements.MeanElements")
        out.append(dataclasses.replace(e, raw_text="", extra={}))
    return out


def _check_screen_inputs(r_gcrs_km, v_gcrs_km_s, t_s, threshold_km) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t_s = np.asarray(t_s, dtype=float)
    if t_s.ndim != 1 or t_s.size < 2:
        raise ConfigError("t_s", getattr(t_s, "shape", t_s), "a 1-D array of at least two times (s)")
    if not np.all(np.isfinite(t_s)) or np.any(np.diff(t_s) <= 0):
        raise ConfigError("t_s", "non-increasing or non-finite times", "strictly increasing finite seconds")
    r = np.asarray(r_gcrs_km)
    v = np.asarray(v_gcrs_km_s)
    if r.ndim != 3 or r.shape != v.shape or r.shape[1:] != (len(t_s), 3):
        raise ConfigError("r_gcrs_km/v_gcrs_km_s shape", (r.shape, v.shape), f"(n_objects, {len(t_s)}, 3) for both")
    if not (np.isfinite(threshold_km) and threshold_km > 0):
        raise ConfigError("threshold_km", threshold_km, "a positive distance in km")
    return r, v, t_s


# --------------------------------------------------------------------------
# executors


class Executor:
    """In-process execution: the core functions, called directly."""

    kind = "inprocess"

    def propagate_sgp4(self, elements: Sequence[MeanElements], t, frame: str = "GCRS") -> sgp4_batch.Sgp4Result:
        """SGP4 states ``(n_objects, n_times, 3)`` of ``elements`` at the
        astropy ``Time`` array ``t`` in TEME, GCRS or ITRS, as
        ``sgp4_batch.propagate`` returns them (error codes, NaN rows)."""
        return propagate_chunk(_plain(elements), t, frame)

    def screen(self, r_gcrs_km, v_gcrs_km_s, t_s, threshold_km: float = 5.0, watch=None) -> np.ndarray:
        """Conjunction table (``CONJUNCTION_DTYPE``, sorted by TCA) of the
        sampled states, as ``screen_conjunctions`` returns it."""
        return screen_conjunctions(r_gcrs_km, v_gcrs_km_s, t_s, threshold_km=threshold_km, watch=watch)

    def describe(self) -> str:
        return "in-process"

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class DaskExecutor(Executor):
    """The same operations split over the workers of a Dask ``Client``.

    ``chunks_per_thread``: object chunks (SGP4) and time windows (screening)
    per worker thread; more than one evens out unequal tasks.
    ``cluster``: a cluster this executor owns and closes (``"local"``).
    """

    kind = "dask"

    def __init__(self, client, *, cluster=None, chunks_per_thread: int = 2, kind: str = "address") -> None:
        if int(chunks_per_thread) != chunks_per_thread or chunks_per_thread < 1:
            raise ConfigError("chunks_per_thread", chunks_per_thread, "a positive integer")
        self.client = client
        self.cluster = cluster
        self.chunks_per_thread = int(chunks_per_thread)
        self.kind = kind

    def n_threads(self) -> int:
        """Worker threads the scheduler knows now (at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def _n_parts(self, n_items: int) -> int:
        return max(1, min(n_items, self.n_threads() * self.chunks_per_thread))

    def propagate_sgp4(self, elements: Sequence[MeanElements], t, frame: str = "GCRS") -> sgp4_batch.Sgp4Result:
        elements = _plain(elements)
        n = len(elements)
        frame = frame.upper()
        if frame not in ("TEME", "GCRS", "ITRS"):
            raise ValueError(f"frame {frame!r}: expected one of TEME, GCRS, ITRS")
        if n == 0:
            return propagate_chunk([], t, frame)
        size = math.ceil(n / self._n_parts(n))
        chunks = [elements[a : a + size] for a in range(0, n, size)]
        # t is small and every task needs it: a copy on every worker, so that it does not pin the tasks to one.
        # hash=False everywhere: a content-hashed key is the previous call's key, whose release can race
        # with this scatter and drop the data under the new tasks (dask/distributed#3703, #8576).
        [t_future] = self.client.scatter([t], broadcast=True, hash=False)
        futures = [self.client.submit(propagate_chunk, c, t_future, "TEME", pure=False) for c in chunks]
        if frame != "TEME":
            # the rotation matrices once, here, while the workers run SGP4; then each chunk's TEME
            # states are rotated where they are (the matrices are copied to every worker)
            [m_future] = self.client.scatter([frame_matrices(t, frame)], broadcast=True, hash=False)
            futures = [self.client.submit(rotate_chunk, f, m_future, frame, pure=False) for f in futures]
        # chunks are fetched in order and copied into place while the later ones still run
        m = len(np.atleast_1d(t.jd1))
        r_km = np.empty((n, m, 3))
        v_km_s = np.empty((n, m, 3))
        codes = None
        for q, fut in enumerate(futures):
            part = fut.result()
            a = q * size
            b = a + part.r_km.shape[0]
            r_km[a:b] = part.r_km
            v_km_s[a:b] = part.v_km_s
            if codes is None:
                codes = np.empty((n, m), dtype=part.error_code.dtype)
            codes[a:b] = part.error_code
            del part
        return sgp4_batch.Sgp4Result(r_km, v_km_s, codes, frame)

    def screen(self, r_gcrs_km, v_gcrs_km_s, t_s, threshold_km: float = 5.0, watch=None) -> np.ndarray:
        r, v, t_s = _check_screen_inputs(r_gcrs_km, v_gcrs_km_s, t_s, threshold_km)
        n_int = len(t_s) - 1
        cuts = np.unique(np.linspace(0, n_int, self._n_parts(n_int) + 1).round().astype(int))
        workers = sorted(self.client.nthreads())
        futures = []
        for q, (k0, k1) in enumerate(zip(cuts[:-1].tolist(), cuts[1:].tolist())):
            # windows [k0, k1] share their end sample with the next one; a window's states go to one
            # worker (round robin), as one piece, and its task runs there
            window = (np.ascontiguousarray(r[:, k0 : k1 + 1]), np.ascontiguousarray(v[:, k0 : k1 + 1]))
            [rv] = self.client.scatter([window], workers=[workers[q % len(workers)]] if workers else None,
                                       hash=False)
            futures.append(self.client.submit(screen_window_rv, rv, t_s[k0 : k1 + 1], float(threshold_km), watch,
                                              k0 == 0, k1 == n_int, pure=False))
        tables = self.client.gather(futures)
        return _sorted_table(np.concatenate(tables)) if tables else np.zeros(0, CONJUNCTION_DTYPE)

    def describe(self) -> str:
        workers = self.client.nthreads()
        return f"dask {self.kind} {self.client.scheduler.address}: {len(workers)} workers, {self.n_threads()} threads"

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(
    kind: str | None = None,
    address: str | None = None,
    n_workers: int = 2,
    *,
    threads_per_worker: int = 1,
    processes: bool = True,
    chunks_per_thread: int = 2,
) -> Executor:
    """An executor of the given kind (see the module docstring).

    ``kind=None``: ``$CISLUNAR_EXECUTOR`` if set, else ``"address"`` if
    ``$CISLUNAR_DASK_ADDRESS`` is set, else ``"inprocess"``.
    ``address``: ``"tcp://host:8786"`` (default: the environment variable).
    ``n_workers``, ``threads_per_worker``, ``processes``: the
    ``LocalCluster`` of ``kind="local"``.
    """
    env_address = os.environ.get(ADDRESS_ENV) or None
    if kind is None:
        kind = os.environ.get(KIND_ENV) or ("address" if (address or env_address) else "inprocess")
    if kind not in KINDS:
        raise ConfigError(f"executor kind (${KIND_ENV})", kind, "one of " + ", ".join(KINDS))
    if kind == "inprocess":
        return Executor()
    from distributed import Client

    if kind == "address":
        address = address or env_address
        if not address:
            raise ConfigError(ADDRESS_ENV, address, "a Dask scheduler address such as tcp://host:8786")
        return DaskExecutor(Client(address, set_as_default=False), chunks_per_thread=chunks_per_thread,
                            kind="address")
    from distributed import LocalCluster

    if int(n_workers) != n_workers or n_workers < 1:
        raise ConfigError("n_workers", n_workers, "a positive integer")
    cluster = LocalCluster(n_workers=int(n_workers), threads_per_worker=int(threads_per_worker),
                           processes=bool(processes), host="127.0.0.1", dashboard_address=None)
    try:
        client = Client(cluster, set_as_default=False)
    except BaseException:
        cluster.close()
        raise
    return DaskExecutor(client, cluster=cluster, chunks_per_thread=chunks_per_thread, kind="local")
