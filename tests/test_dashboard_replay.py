"""Replay of stored conjunctions, and the exports, without Streamlit.

The demo database (tests/dashboard_fixtures.py) stores a conjunction between
two real satellites from the packaged July 2026 TLEs, NOAA 15 (25338) and
METOP-B (38771), near 2026-07-21 02:25 UTC: two updates, the first from
element sets a day older (known 2026-07-19), the second from the published
TLEs.  The fixture finds each update's TCA and miss distance with its own
brute-force search (1 s grid, golden section on python-sgp4 to 1e-7 s);
the replay must reproduce them from the element sets known at each update.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sqlalchemy import select

from dashboard import export
from dashboard.replay_inputs import load_known_element_sets
from dashboard.replay import (
    ReplayError,
    choose_step_s,
    covariance_ellipse,
    reconstruct_encounter,
    replay_from_known_sets,
)
from db.engine import make_engine, session_factory
from db.models import EventUpdate, Run
from conftest import BACKENDS, fresh_database_url
from dashboard_fixtures import PRIMARY_NORAD, SECONDARY_NORAD, build_demo_database

# Tolerances. TCA of a 3.9 km/s LEO encounter is located to ~1e-5 s by both
# searches (range-minimum curvature against float64 range noise), so a
# millisecond is generous; the miss distance then agrees to micrometres.
one_millisecond_s = 1e-3
one_metre_km = 1e-3
one_mm_per_s_km_s = 1e-6
HALF_WINDOW = timedelta(minutes=10)


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    """One demo database per backend for the module (the tests only read it),
    migrated with alembic like conftest's ``db_url``."""
    url = fresh_database_url(request.param, tmp_path_factory.mktemp("replay"))
    return build_demo_database(url)


@pytest.fixture(scope="module")
def Session(demo):
    engine = make_engine(demo.url)
    yield session_factory(engine)
    engine.dispose()


def _replay_update(Session, event_id: int, index: int):
    """Replay one stored update exactly as the Replay page does."""
    with Session() as s:
        ups = s.execute(
            select(EventUpdate, Run.window_start_utc).join(Run, Run.id == EventUpdate.run_id)
            .where(EventUpdate.event_id == event_id).order_by(EventUpdate.seen_at)
        ).all()
        up, at = ups[index]
        ev = up.event
        ids = (ev.object_id, ev.other_object_id)
        sets = load_known_element_sets(s, ids, at, up.seen_at)
    rep = replay_from_known_sets(sets, ids, up.tca_utc - HALF_WINDOW, up.tca_utc + HALF_WINDOW, expected_tca_utc=up.tca_utc)
    return rep, up


def test_replay_reproduces_each_stored_update(demo, Session):
    assert len(demo.approaches) == 2
    for k, ap in enumerate(demo.approaches):
        rep, up = _replay_update(Session, demo.event_id, k)
        # the inputs are the element sets that were known when the update was seen
        assert (rep.primary.element_set_id, rep.secondary.element_set_id) == ap.element_set_ids
        assert (up.element_set_id, up.other_element_set_id) == ap.element_set_ids
        assert abs((rep.tca_utc - ap.tca_utc).total_seconds()) <= one_millisecond_s
        assert abs(rep.miss_km - ap.miss_km) <= one_metre_km
        assert abs(rep.relative_speed_km_s - ap.relative_speed_km_s) <= one_mm_per_s_km_s
        assert not rep.at_window_edge
    # the two updates really differ: the replay follows what was known
    first, last = demo.approaches
    assert abs((first.tca_utc - last.tca_utc).total_seconds()) > 10.0
    assert abs(first.miss_km - last.miss_km) > 0.5


def test_replay_as_known_before_any_set_refuses(demo, Session):
    before = datetime(2026, 7, 1, tzinfo=timezone.utc)
    with Session() as s:
        sets = load_known_element_sets(s, (demo.primary_id, demo.secondary_id), before, before)
    assert sets == []
    with pytest.raises(ReplayError, match="no element set of object"):
        replay_from_known_sets(sets, (demo.primary_id, demo.secondary_id), before, before + HALF_WINDOW)


def test_replay_geometry_and_frames(demo, Session):
    rep, _ = _replay_update(Session, demo.event_id, 1)
    # frames span the window and include the TCA neighbourhood
    assert rep.t_from_tca_s[0] < 0 < rep.t_from_tca_s[-1]
    assert len(rep.epochs_utc) == len(rep.rel_rtn_km) == len(rep.range_km)
    # RTN miss components and the range at the frame nearest TCA agree with the miss
    assert abs(np.linalg.norm(rep.miss_rtn_km) - rep.miss_km) <= one_metre_km
    assert np.min(np.linalg.norm(rep.track_rel_rtn_km, axis=-1)) >= rep.miss_km - one_metre_km
    # states at TCA: GCRS separation is the miss distance
    assert abs(np.linalg.norm(rep.r1_tca_gcrs_km - rep.r2_tca_gcrs_km) - rep.miss_km) <= one_metre_km
    # the conjunction-plane miss vector lies along +x (CARA convention)
    assert abs(rep.miss_plane_km[0] - rep.miss_km) <= one_metre_km and abs(rep.miss_plane_km[1]) <= one_metre_km
    assert rep.pc is not None and 0.0 <= rep.pc < 1e-6  # 30 km apart with ~km covariances
    assert rep.pc_method == "foster" and rep.hbr_m == 20.0
    assert any("no covariance" in w for w in rep.pc_warnings)


def test_replay_without_expected_tca_takes_the_deepest_minimum(demo, Session):
    rep_event, _ = _replay_update(Session, demo.event_id, 1)
    primary, secondary = rep_event.primary, rep_event.secondary
    start = rep_event.tca_utc - timedelta(minutes=40)
    rep = reconstruct_encounter(primary, secondary, start, start + timedelta(minutes=80))
    assert abs((rep.tca_utc - rep_event.tca_utc).total_seconds()) <= one_millisecond_s
    assert abs(rep.miss_km - rep_event.miss_km) <= one_metre_km


def test_bad_window_is_refused(demo, Session):
    rep, _ = _replay_update(Session, demo.event_id, 1)
    with pytest.raises(ReplayError, match="stop must be after the start"):
        reconstruct_encounter(rep.primary, rep.secondary, rep.tca_utc, rep.tca_utc)


def test_exports(demo, Session):
    from propagators.parsing.cdm import parse_cdm

    rep, _ = _replay_update(Session, demo.event_id, 1)
    csv = export.replay_csv(rep)
    header = csv.splitlines()[0].split(",")
    assert header[:4] == ["epoch_utc", "t_from_tca_s", "range_km", "rel_r_km"]
    assert len(csv.splitlines()) == len(rep.epochs_utc) + 1

    html = export.replay_html(rep, title="Replay test", generated_at_utc=datetime(2026, 11, 25, tzinfo=timezone.utc))
    assert html.startswith("<!DOCTYPE html>") and "Replay test" in html
    # plotly.js is embedded (once), not loaded from a CDN: the report opens offline
    assert "<script src=" not in html and 'Plotly.newPlot' in html
    assert html.count("* plotly.js v") == 1
    assert html.count("Plotly.newPlot") >= 3

    cdm_text = export.replay_cdm(rep, creation_date=datetime(2026, 11, 25, tzinfo=timezone.utc))
    cdm = parse_cdm(cdm_text)
    tca = cdm.relative["TCA"]
    tca = tca if tca.tzinfo else tca.replace(tzinfo=timezone.utc)
    assert abs((tca - rep.tca_utc).total_seconds()) <= one_millisecond_s
    assert abs(cdm.relative["MISS_DISTANCE"] / 1000.0 - rep.miss_km) <= one_metre_km
    assert cdm.objects[0].metadata["OBJECT_DESIGNATOR"] == f"{PRIMARY_NORAD:05d}"
    assert cdm.objects[1].metadata["OBJECT_DESIGNATOR"] == f"{SECONDARY_NORAD:05d}"


def test_covariance_ellipse_axes():
    # a diagonal covariance: the 1-sigma ellipse reaches sqrt(variance) on each axis
    e = covariance_ellipse(np.diag([4.0, 1.0]), 1.0, 361)
    assert math.isclose(np.abs(e[:, 0]).max(), 2.0, rel_tol=1e-6)
    assert math.isclose(np.abs(e[:, 1]).max(), 1.0, rel_tol=1e-6)
    e3 = covariance_ellipse(np.diag([4.0, 1.0]), 3.0, 361)
    assert math.isclose(np.abs(e3[:, 0]).max(), 6.0, rel_tol=1e-6)


@pytest.mark.parametrize("span_s, step", [(1200.0, 0.3), (60.0, 0.05), (86400.0 * 7, 3.024)])
def test_sample_step(span_s, step):
    assert choose_step_s(span_s) == pytest.approx(step, rel=1e-12)
