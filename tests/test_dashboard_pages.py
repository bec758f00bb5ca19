"""Every dashboard page through Streamlit's AppTest, on the demo database.

The app is run from its entry point (``dashboard/app.py``, as ``cislunar
dashboard`` runs it); pages are reached with ``AppTest.switch_page``.
Operator actions are checked in the database: who, when, the audit row.
With authentication on, nothing but the login renders before login.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from dashboard_fixtures import TLI_NORAD, build_demo_database
from db.engine import make_engine, session_factory
from db.models import Alert, AlertAction, ElementSet, Silence, SpaceObject

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
PAGES = ("overview", "situation", "alerts", "objects", "replay", "upload")
TIMEOUT_S = 60  # the first run imports astropy, numba kernels, plotly

ISS_TLE = (
    "ISS (ZARYA)\n"
    "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927\n"
    "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537\n"
)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    info = build_demo_database(f"sqlite:///{path}")
    return path, info


@pytest.fixture
def demo(demo_db, tmp_path, monkeypatch):
    """A private copy of the demo database (tests may write to it) and an
    environment with no authentication configured."""
    src, info = demo_db
    dst = tmp_path / "demo.db"
    shutil.copy(src, dst)
    url = f"sqlite:///{dst}"
    empty = tmp_path / "cislunar.toml"
    empty.write_text("")
    monkeypatch.setenv("CISLUNAR_DB_URL", url)
    monkeypatch.setenv("CISLUNAR_CONFIG", str(empty))
    for var in ("CISLUNAR_DASHBOARD_PASSWORD", "CISLUNAR_DASHBOARD_VIEWER_PASSWORD", "CISLUNAR_DASHBOARD_AUTH_MODE",
                "CISLUNAR_DASHBOARD_ACK_ALLOWLIST"):
        monkeypatch.delenv(var, raising=False)
    engine = make_engine(url)
    yield info, session_factory(engine), tmp_path
    engine.dispose()


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT_S)


def _goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.caption, *at.title, *at.header, *at.subheader, *at.info, *at.success,
                                *at.warning, *at.error)]
    return "\n".join(str(p) for p in parts)


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_every_page_renders_its_key_content(demo):
    info, _, _ = demo
    at = _app().run()
    assert not at.exception, [e.value for e in at.exception]
    # overview (the default page)
    assert at.title[0].value == "Cislunar SSA monitor"
    assert _metric(at, "Objects tracked") == "153"  # 152 packaged TLEs + the TLI stage
    assert _metric(at, "Open critical") == "1"
    assert _metric(at, "Dead letters") == "1"
    assert _metric(at, "Outbox backlog") == "1"
    assert _metric(at, "Cycle duration") == "42.5 s"
    assert "s ago" in _metric(at, "Service heartbeat")
    assert len(at.dataframe) >= 2  # objects by regime, data sources

    _goto(at, "situation")
    assert at.title[0].value == "Situation"
    assert len(at.get("plotly_chart")) == 1
    assert int(_metric(at, "Objects shown").replace(",", "")) >= 150
    assert _metric(at, "Cislunar tracks") == "3"  # CXO, TESS, the TLI stage
    assert _metric(at, "Predicted region crossings") == "4"
    at.radio(key="sit_frame").set_value("Earth–Moon rotating").run()
    assert not at.exception and len(at.get("plotly_chart")) == 1
    at.select_slider(key="sit_time").set_value(36).run()
    assert not at.exception and "2026-07-21 02:00:00 UTC" in _texts(at)

    _goto(at, "alerts")
    assert "2 of 3 alerts" in _texts(at)
    assert "Conjunction NOAA 15 / METOP-B" in _texts(at)

    at.query_params["object"] = str(TLI_NORAD)
    _goto(at, "objects")
    assert at.header[0].value == f"{TLI_NORAD} DEMO TLI STAGE"
    assert _metric(at, "Regime") == "CISLUNAR"
    assert "Why this propagator" in _texts(at) and "SGP4 cannot represent" in _texts(at)
    assert len(at.get("plotly_chart")) == 1  # distance to the regions

    at.query_params.clear()
    at.query_params["event"] = str(info.event_id)
    _goto(at, "replay")
    assert _metric(at, "Miss distance") == f"{info.approaches[-1].miss_km:.3f} km"
    assert any("Replay differs by" in s.value and "element sets are those the update recorded" in s.value for s in at.success)
    assert len(at.get("plotly_chart")) == 4  # RTN play, encounter plane, range, evolution
    labels = [b.label for b in at.get("download_button")]
    assert {"CSV", "HTML report", "CDM (CCSDS 2.0 KVN)", "Summary (JSON)"} <= set(labels)
    # as known at the first update: the older element sets and that update's numbers
    at.select_slider(key="rp_known").set_value(0).run()
    assert _metric(at, "Miss distance") == f"{info.approaches[0].miss_km:.3f} km"

    _goto(at, "upload")
    assert at.title[0].value == "Upload element sets"


def test_replay_of_an_object_pair_finds_the_same_approach(demo):
    from datetime import date, time as dtime

    info, _, _ = demo
    at = _goto(_app().run(), "replay")
    at.radio(key="rp_mode").set_value("Object pair").run()
    at.text_input(key="rp_a_q").input("NOAA 15").run()
    at.text_input(key="rp_b_q").input("METOP-B").run()
    at.date_input(key="rp_d0").set_value(date(2026, 7, 21))
    at.time_input(key="rp_t0").set_value(dtime(1, 25))
    at.number_input(key="rp_hours").set_value(2.0).run()
    assert not at.exception, [e.value for e in at.exception]
    # as known now: the published TLEs, so the second update's approach
    assert _metric(at, "Miss distance") == f"{info.approaches[-1].miss_km:.3f} km"
    assert _metric(at, "TCA (2026-07-21 UTC)") == info.approaches[-1].tca_utc.strftime("%H:%M:%S.%f")[:-3]


def test_acknowledge_silence_resolve_are_recorded(demo):
    info, Session, _ = demo
    at = _goto(_app().run(), "alerts")
    alert_id = info.alert_ids["open"]
    assert at.selectbox(key="al_pick").value == alert_id
    at.text_input(key="ack_by").input("bob")
    at.text_area(key="ack_note").input("looking at the CDM")
    _button(at, "Acknowledge").click().run()
    assert not at.exception
    assert any("acknowledged by bob" in s.value for s in at.success)
    with Session() as s:
        a = s.get(Alert, alert_id)
        assert (a.state, a.acknowledged_by, a.ack_note) == ("acknowledged", "bob", "looking at the CDM")
        assert a.acknowledged_at is not None
        act = s.scalars(select(AlertAction).where(AlertAction.alert_id == alert_id).order_by(AlertAction.id.desc())).first()
        assert (act.action, act.actor, act.note) == ("acknowledged", "bob", "looking at the CDM")

    at.text_input(key="sil_by").input("bob")
    at.text_area(key="sil_reason").input("planned manoeuvre tomorrow")
    _button(at, "Silence").click().run()
    assert not at.exception and any("silenced by bob" in s.value for s in at.success)
    with Session() as s:
        sil = s.scalars(select(Silence)).one()
        assert (sil.author, sil.reason, sil.fingerprint) == ("bob", "planned manoeuvre tomorrow", s.get(Alert, alert_id).fingerprint)
        assert sil.expires_at > sil.created_at

    at.text_input(key="res_by").input("carol")
    at.text_area(key="res_note").input("miss is 30 km")
    _button(at, "Resolve").click().run()
    assert not at.exception
    with Session() as s:
        a = s.get(Alert, alert_id)
        assert (a.state, a.resolved_by, a.resolve_note) == ("resolved", "carol", "miss is 30 km")
        actions = [x.action for x in s.scalars(select(AlertAction).where(AlertAction.alert_id == alert_id).order_by(AlertAction.id))]
        assert actions[-3:] == ["acknowledged", "silenced", "resolved"]


def test_upload_validates_then_stores(demo):
    _, Session, _ = demo
    at = _goto(_app().run(), "upload")
    bad = ISS_TLE.replace("0  2927\n", "0  2928\n")  # line 1's checksum digit is wrong
    at.file_uploader(key="up_files").set_value([("iss.tle", ISS_TLE.encode(), "text/plain"),
                                                ("bad.tle", bad.encode(), "text/plain")]).run()
    assert not at.exception
    text = _texts(at)
    assert "iss.tle: tle: 1 records, 0 rejected" in text
    assert "bad.tle: tle: 1 records, 1 rejected" in text
    rejected = at.dataframe[0].value
    assert int(rejected["line"].iloc[0]) == 2 and rejected["expected"].iloc[0]
    _button(at, "Store 1 record(s)").click().run()
    assert not at.exception
    assert any("iss.tle: tle: 1 records, 1 new, 0 already stored, 0 rejected" in s.value for s in at.success)
    with Session() as s:
        obj = s.scalar(select(SpaceObject).where(SpaceObject.norad_id == 25544))
        assert obj is not None and obj.regime == "LEO"
        assert s.scalar(select(ElementSet.source).where(ElementSet.object_id == obj.id)) == "upload:iss.tle"


# ---------------------------------------------------------------- access control

def _configure(tmp_path: Path, monkeypatch, toml: str) -> None:
    p = tmp_path / "auth.toml"
    p.write_text(toml)
    monkeypatch.setenv("CISLUNAR_CONFIG", str(p))


def _assert_no_data(at: AppTest, info) -> None:
    assert not at.metric and not at.dataframe and not at.get("plotly_chart")
    text = _texts(at)
    for secret in ("NOAA 15", "METOP-B", "Objects tracked", ".db", str(info.event_id) + " "):
        assert secret not in text


def test_password_login_gates_every_page(demo, monkeypatch):
    info, _, tmp_path = demo
    _configure(tmp_path, monkeypatch, '[auth]\nmode = "password"\npassword = "op-secret"\nviewer_password = "look"\n')
    at = _app().run()
    assert not at.exception
    _assert_no_data(at, info)
    assert at.text_input(key="login_password") is not None
    # deep links to data pages show the login, not the page
    for page in PAGES:
        at.switch_page(f"app_pages/{page}.py").run()
        _assert_no_data(at, info)
    # a wrong password: still nothing
    at.text_input(key="login_name").input("alice")
    at.text_input(key="login_password").input("guess")
    _button(at, "Log in").click().run()
    assert any("do not match" in e.value for e in at.error)
    _assert_no_data(at, info)
    # the operators' password: the dashboard, and alerts may be acted on in alice's name
    at.text_input(key="login_password").input("op-secret")
    _button(at, "Log in").click().run()
    assert not at.exception and at.title[0].value == "Upload element sets"  # the page last asked for
    _goto(at, "overview")
    assert _metric(at, "Open critical") == "1"
    _goto(at, "alerts")
    assert any(b.label == "Acknowledge" for b in at.button)
    assert not [t for t in at.text_input if t.key == "ack_by"]  # the actor is the logged-in name


def test_viewer_password_is_read_only(demo, monkeypatch):
    info, _, tmp_path = demo
    _configure(tmp_path, monkeypatch, '[auth]\nmode = "password"\npassword = "op-secret"\nviewer_password = "look"\n')
    at = _app().run()
    at.text_input(key="login_name").input("victor")
    at.text_input(key="login_password").input("look")
    _button(at, "Log in").click().run()
    _goto(at, "alerts")
    assert any("Read-only" in i.value for i in at.info)
    assert not any(b.label == "Acknowledge" for b in at.button)
    _goto(at, "upload")
    at.file_uploader(key="up_files").set_value(("iss.tle", ISS_TLE.encode(), "text/plain")).run()
    assert not any(b.label.startswith("Store") for b in at.button)


def test_oidc_login_and_allowlist(demo, monkeypatch):
    info, _, tmp_path = demo
    _configure(tmp_path, monkeypatch, '[auth]\nmode = "oidc"\nack_allowlist = ["ops@example.org"]\n')
    at = _app()
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception
    _assert_no_data(at, info)
    at = _app()
    at.user = {"is_logged_in": True, "email": "ops@example.org", "name": "Ops Desk"}
    at.run()
    assert _metric(at, "Open critical") == "1"
    _goto(at, "alerts")
    assert any(b.label == "Acknowledge" for b in at.button)
    at = _app()
    at.user = {"is_logged_in": True, "email": "guest@example.org", "name": "Guest"}
    at.run()
    _goto(at, "alerts")
    assert any("not on auth.ack_allowlist" in i.value for i in at.info)


def test_invalid_access_configuration_fails_closed(demo, monkeypatch):
    info, _, tmp_path = demo
    _configure(tmp_path, monkeypatch, '[auth]\nmode = "ldap"\n')
    at = _app().run()
    assert any("auth.mode = 'ldap'" in e.value for e in at.error)
    _assert_no_data(at, info)
