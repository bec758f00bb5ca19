"""Access control: who may see the dashboard, and who may act on alerts.

Configuration: the ``[auth]`` section of the TOML named by ``CISLUNAR_CONFIG``
(else ``./cislunar.toml`` when present), overridden by the environment::

    [auth]
    mode = "oidc"            # "oidc", "password" or "none"
    provider = "default"     # OIDC: the [auth.<provider>] of .streamlit/secrets.toml
    password = "..."         # password mode: operators (or CISLUNAR_DASHBOARD_PASSWORD)
    viewer_password = "..."  # password mode: read-only viewers (or CISLUNAR_DASHBOARD_VIEWER_PASSWORD)
    ack_allowlist = ["ops@example.org", "alice"]   # who may acknowledge, silence, resolve
    read_only = false        # mode "none": true makes everyone a viewer

* ``oidc``: ``st.login`` (Streamlit's OIDC; its provider settings live in
  ``.streamlit/secrets.toml`` as Streamlit documents). Everyone who logs in
  may look; those whose e-mail (or name) is in ``ack_allowlist`` may act.
  An empty allowlist makes everyone a viewer.
* ``password``: a shared password. The operators' password lets one act
  (when ``ack_allowlist`` is set, the name given must be on it too); the
  viewers' password gives a read-only session.
* ``none``: no login (the local default of ``make run``): everyone may act,
  unless ``read_only``.

Without a login nothing is rendered but the login form: ``gate`` stops the
script before navigation, so no page and no data reach the browser.
Environment: ``CISLUNAR_DASHBOARD_AUTH_MODE``, ``CISLUNAR_DASHBOARD_PASSWORD``,
``CISLUNAR_DASHBOARD_VIEWER_PASSWORD``, ``CISLUNAR_DASHBOARD_ACK_ALLOWLIST``
(comma-separated). A password in the environment with no mode configured
turns password mode on.
"""

from __future__ import annotations

import hmac
import importlib.util
import os
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

MODES = ("none", "password", "oidc")
SESSION_KEY = "_cislunar_identity"
FAILED_LOGIN_DELAY_S = 1.0


class AuthConfigError(ValueError):
    """The ``[auth]`` configuration is unusable; the message names key, value and what was expected."""

    def __init__(self, key: str, value: object, expected: str, source: str | None = None) -> None:
        self.key, self.value, self.expected, self.source = key, value, expected, source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}auth.{key} = {value!r}: expected {expected}")


@dataclass(frozen=True)
class AuthConfig:
    mode: str = "none"
    password: str | None = None
    viewer_password: str | None = None
    ack_allowlist: tuple[str, ...] = ()
    provider: str | None = None
    read_only: bool = False
    source: str | None = None

    @property
    def enabled(self) -> bool:
        return self.mode != "none"


@dataclass(frozen=True)
class Identity:
    """The person using this session and whether they may act on alerts."""

    name: str
    can_act: bool
    method: str  # "none", "password", "oidc"
    why: str = ""


def config_path(environ: Mapping[str, str]) -> Path | None:
    p = environ.get("CISLUNAR_CONFIG")
    if p:
        return Path(p).expanduser()
    local = Path.cwd() / "cislunar.toml"
    return local if local.is_file() else None


def _str_list(key: str, v, source) -> tuple[str, ...]:
    if isinstance(v, str):
        return tuple(s.strip() for s in v.split(",") if s.strip())
    if isinstance(v, list) and all(isinstance(s, str) for s in v):
        return tuple(s.strip() for s in v if s.strip())
    raise AuthConfigError(key, v, "a list of strings (or a comma-separated string)", source)


def load_auth_config(environ: Mapping[str, str] | None = None) -> AuthConfig:
    """Read ``[auth]`` from the configuration file and the environment."""
    environ = os.environ if environ is None else environ
    path = config_path(environ)
    section: dict = {}
    source = None
    if path is not None:
        source = str(path)
        try:
            with open(path, "rb") as fh:
                doc = tomllib.load(fh)
        except FileNotFoundError:
            raise AuthConfigError("(file)", str(path), "an existing TOML file (CISLUNAR_CONFIG)", source) from None
        except tomllib.TOMLDecodeError as exc:
            raise AuthConfigError("(file)", str(path), f"valid TOML ({exc})", source) from None
        section = doc.get("auth", {}) or {}
        if not isinstance(section, dict):
            raise AuthConfigError("(section)", section, "a [auth] table", source)
    password = environ.get("CISLUNAR_DASHBOARD_PASSWORD") or section.get("password") or None
    viewer = environ.get("CISLUNAR_DASHBOARD_VIEWER_PASSWORD") or section.get("viewer_password") or None
    for key, v in (("password", password), ("viewer_password", viewer)):
        if v is not None and not isinstance(v, str):
            raise AuthConfigError(key, "***", "a string", source)
    mode = environ.get("CISLUNAR_DASHBOARD_AUTH_MODE") or section.get("mode")
    if mode is None:
        mode = "password" if (password or viewer) else "none"
    mode = str(mode).strip().lower()
    if mode not in MODES:
        raise AuthConfigError("mode", mode, " or ".join(f'"{m}"' for m in MODES), source)
    if mode == "password" and not (password or viewer):
        raise AuthConfigError("password", None, "a password (auth.password or CISLUNAR_DASHBOARD_PASSWORD) in password mode",
                              source)
    allow_raw = environ.get("CISLUNAR_DASHBOARD_ACK_ALLOWLIST")
    allow = _str_list("ack_allowlist", allow_raw if allow_raw is not None else section.get("ack_allowlist", []), source)
    read_only = section.get("read_only", False)
    if not isinstance(read_only, bool):
        raise AuthConfigError("read_only", read_only, "true or false", source)
    provider = section.get("provider")
    if provider is not None and not isinstance(provider, str):
        raise AuthConfigError("provider", provider, "the name of an [auth.<provider>] secrets section", source)
    return AuthConfig(mode=mode, password=password, viewer_password=viewer, ack_allowlist=allow,
                      provider=provider, read_only=read_only, source=source)


def _allowed(cfg: AuthConfig, *names: str | None) -> bool:
    allow = {a.lower() for a in cfg.ack_allowlist}
    return any(n and n.strip().lower() in allow for n in names)


def check_password(cfg: AuthConfig, name: str, password: str) -> Identity | None:
    """The identity a name and password give in password mode, or None."""
    name = (name or "").strip()
    if not name:
        return None
    given = password.encode()
    if cfg.password and hmac.compare_digest(given, cfg.password.encode()):
        if cfg.ack_allowlist and not _allowed(cfg, name):
            return Identity(name, False, "password", f"{name} is not on auth.ack_allowlist: read-only")
        return Identity(name, True, "password", "operator password")
    if cfg.viewer_password and hmac.compare_digest(given, cfg.viewer_password.encode()):
        return Identity(name, False, "password", "viewer password: read-only")
    return None


def oidc_identity(cfg: AuthConfig, user: Mapping) -> Identity | None:
    """The identity of a logged-in OIDC user (``st.user``), or None."""
    if not user.get("is_logged_in"):
        return None
    email = user.get("email")
    name = user.get("name") or email or user.get("sub") or "unknown"
    who = str(email or name)
    if _allowed(cfg, email, user.get("name"), user.get("sub")):
        return Identity(who, True, "oidc", "on auth.ack_allowlist")
    why = "auth.ack_allowlist is empty: everyone is read-only" if not cfg.ack_allowlist else f"{who} is not on auth.ack_allowlist: read-only"
    return Identity(who, False, "oidc", why)


# ---------------------------------------------------------------- Streamlit

def gate(cfg: AuthConfig):
    """The session's ``Identity``; renders the login and stops the script
    when nobody is logged in. Call before ``st.navigation``."""
    import streamlit as st

    if cfg.mode == "none":
        return Identity(st.session_state.get("operator_name", "") or "local operator", not cfg.read_only, "none",
                        "read-only (auth.read_only)" if cfg.read_only else "no authentication configured")
    if cfg.mode == "oidc":
        ident = oidc_identity(cfg, st.user.to_dict())
        if ident is not None:
            return ident
        st.title("Cislunar SSA monitor")
        st.info("Log in to see the dashboard.")
        if importlib.util.find_spec("authlib") is None:
            st.error("OIDC login needs Authlib (`pip install streamlit[auth]`); it is not installed on this server.")
            st.stop()
        if st.button("Log in", type="primary"):
            st.login(cfg.provider) if cfg.provider else st.login()
        st.stop()
    ident_dict = st.session_state.get(SESSION_KEY)
    if ident_dict:
        return Identity(**ident_dict)
    st.title("Cislunar SSA monitor")
    st.caption("Log in to see the dashboard.")
    with st.form("login"):
        name = st.text_input("Your name", key="login_name")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        ident = check_password(cfg, name, password)
        if ident is None:
            time.sleep(FAILED_LOGIN_DELAY_S)
            st.error("Name and password do not match a configured login.")
        else:
            st.session_state[SESSION_KEY] = ident.__dict__
            st.rerun()
    st.stop()


def logout_button(ident: Identity) -> None:
    import streamlit as st

    if ident.method == "password":
        if st.sidebar.button("Log out"):
            st.session_state.pop(SESSION_KEY, None)
            st.rerun()
    elif ident.method == "oidc":
        if st.sidebar.button("Log out"):
            st.logout()
