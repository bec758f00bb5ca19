"""Configuration: one optional TOML file plus environment overrides.

Precedence: built-in defaults < TOML file (``--config``, ``$CISLUNAR_CONFIG``
or ``./cislunar.toml``) < environment variables (``CISLUNAR_DB_URL``...)
< command-line options.  Every value is validated at start-up; an error
names the key, the value and the expected form.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from db.migrate import default_url
from propagators.datadir import shared_data_dir
from propagators.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent


def _positive_float(key, v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ConfigError(key, v, "a positive number") from None
    if not f > 0:
        raise ConfigError(key, v, "a positive number")
    return f


def _nonneg_float(key, v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ConfigError(key, v, "a number >= 0") from None
    if f < 0:
        raise ConfigError(key, v, "a number >= 0")
    return f


def _port(key, v):
    try:
        i = int(v)
    except (TypeError, ValueError):
        raise ConfigError(key, v, "a TCP port number 1-65535") from None
    if not 0 < i < 65536:
        raise ConfigError(key, v, "a TCP port number 1-65535")
    return i


def _bool(key, v):
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(key, v, "true or false")


def _str(key, v):
    if not isinstance(v, (str, int, float)):
        raise ConfigError(key, v, "a string")
    return str(v)


def _opt_str(key, v):
    return None if v in (None, "") else _str(key, v)


def _db_url(key, v):
    s = _str(key, v)
    if not (s.startswith("sqlite") or s.startswith("postgresql")):
        raise ConfigError(key, v, "a SQLAlchemy URL such as sqlite:///var/cislunar.db or postgresql+psycopg://user@host/db")
    return s


def _path(key, v):
    return None if v in (None, "") else Path(_str(key, v)).expanduser()


def _str_list(key, v):
    if isinstance(v, str):
        return [s.strip() for s in v.split(",") if s.strip()]
    if isinstance(v, list) and all(isinstance(s, str) for s in v):
        return list(v)
    raise ConfigError(key, v, "a list of strings (or a comma-separated string)")


# key -> (default, validator, environment variable)
SCHEMA: dict[str, tuple[Any, Callable, str]] = {
    "database.url": (None, _db_url, "CISLUNAR_DB_URL"),
    "data.dir": (None, _path, "CISLUNAR_DATA_DIR"),
    "data.inbox": (str(REPO_ROOT / "var" / "inbox"), _path, "CISLUNAR_INBOX"),
    "cycle.interval_minutes": (10.0, _positive_float, "CISLUNAR_CYCLE_INTERVAL_MIN"),
    "cycle.horizon_hours": (24.0, _positive_float, "CISLUNAR_HORIZON_HOURS"),
    "cycle.step_seconds": (60.0, _positive_float, "CISLUNAR_STEP_SECONDS"),
    "cycle.inbox_poll_seconds": (30.0, _positive_float, "CISLUNAR_INBOX_POLL_SECONDS"),
    "retention.states_days": (7.0, _positive_float, "CISLUNAR_STATES_RETENTION_DAYS"),
    "screening.conjunction_km": (5.0, _positive_float, "CISLUNAR_CONJUNCTION_KM"),
    "screening.cdm_dir": (str(REPO_ROOT / "var" / "cdm"), _path, "CISLUNAR_CDM_DIR"),
    "smtp.host": (None, _opt_str, "CISLUNAR_SMTP_HOST"),
    "smtp.port": (25, _port, "CISLUNAR_SMTP_PORT"),
    "smtp.starttls": (False, _bool, "CISLUNAR_SMTP_STARTTLS"),
    "smtp.username": (None, _opt_str, "CISLUNAR_SMTP_USERNAME"),
    "smtp.password": (None, _opt_str, "CISLUNAR_SMTP_PASSWORD"),
    "smtp.sender": ("cislunar-monitor@localhost", _str, "CISLUNAR_SMTP_SENDER"),
    "smtp.recipients": ([], _str_list, "CISLUNAR_SMTP_RECIPIENTS"),
    "smtp.spool_dir": (str(REPO_ROOT / "var" / "spool"), _path, "CISLUNAR_SPOOL_DIR"),
    "dashboard.address": ("127.0.0.1", _str, "CISLUNAR_DASHBOARD_ADDRESS"),
    "dashboard.port": (8501, _port, "CISLUNAR_DASHBOARD_PORT"),
    "dashboard.base_url": ("http://127.0.0.1:8501", _str, "CISLUNAR_DASHBOARD_URL"),
    "service.lock_file": (None, _path, "CISLUNAR_LOCK_FILE"),
}


@dataclass
class Settings:
    values: dict[str, Any] = field(default_factory=dict)
    source_file: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # whole TOML, for sections others validate

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def db_url(self) -> str:
        return self.values["database.url"]

    @property
    def data_dir(self) -> Path | None:
        return self.values["data.dir"]


def _flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


# Sections whose contents are validated by their own modules (alert rules...).
_FREE_SECTIONS = ("alerts", "regions", "sources", "auth")


def load_settings(config_path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Defaults, then the TOML file, then the environment, then ``overrides``."""
    path = config_path or os.environ.get("CISLUNAR_CONFIG")
    if path is None and Path("cislunar.toml").is_file():
        path = "cislunar.toml"
    raw: dict[str, Any] = {}
    source_file = None
    if path is not None:
        source_file = Path(path).expanduser()
        try:
            raw = tomllib.loads(source_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("--config", str(source_file), "an existing TOML file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("--config", str(source_file), f"valid TOML ({exc})") from None
    flat = {k: v for k, v in _flatten(raw).items() if not k.startswith(_FREE_SECTIONS)}
    unknown = sorted(set(flat) - set(SCHEMA))
    if unknown:
        raise ConfigError(unknown[0], flat[unknown[0]], "one of the documented keys: " + ", ".join(sorted(SCHEMA)))
    values: dict[str, Any] = {}
    for key, (default, validate, env) in SCHEMA.items():
        value = default
        where = key
        if key in flat:
            value = flat[key]
        if env in os.environ:
            value = os.environ[env]
            where = env
        if overrides and overrides.get(key) is not None:
            value = overrides[key]
            where = key
        values[key] = validate(where, value) if value is not None else None
    if values["database.url"] is None:
        values["database.url"] = default_url()
    if values["data.dir"] is None:
        values["data.dir"] = shared_data_dir()
    elif not values["data.dir"].is_dir():
        raise ConfigError("data.dir", str(values["data.dir"]), "an existing directory")
    return Settings(values=values, source_file=source_file, raw=raw)
