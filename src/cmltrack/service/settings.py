"""The service's settings: flags, then ``CMLTRACK_*`` environment variables, then the TOML
config file (``--config`` or ``CMLTRACK_CONFIG``), then built-in defaults.

An invalid setting raises :class:`~cmltrack.errors.InputError` naming the setting (the CLI
prints one line and exits with status 2).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cmltrack.errors import InputError

ROLES = ("clinician", "analyst", "admin")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class TokenSpec:
    """A token from the configuration: its name (the audit trail's actor), role and hash."""

    name: str
    role: str
    sha256: str


@dataclass(frozen=True, slots=True)
class CdsClient:
    """An EHR trusted to call the CDS Hooks services: its issuer and its JWK Set."""

    issuer: str
    jwks: Mapping[str, Any] | None = None  # from jwks_file, read at start
    jwks_url: str | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything ``cmltrack serve`` is configured with."""

    db: str | None = None
    data_dir: Path = field(default_factory=lambda: default_data_dir())
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    cds_clients: tuple[CdsClient, ...] = ()
    tokens: tuple[TokenSpec, ...] = ()
    log_level: str = "info"

    @property
    def base_url(self) -> str:
        """The public base URL without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


def default_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """The platform's user data folder for cmltrack."""
    env = os.environ if env is None else env
    home = Path.home()
    if sys.platform == "win32":
        return Path(env.get("LOCALAPPDATA", str(home / "AppData" / "Local"))) / "cmltrack"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "cmltrack"
    return Path(env.get("XDG_DATA_HOME") or home / ".local" / "share") / "cmltrack"


def _bad(setting: str, message: str) -> InputError:
    return InputError(message, code="bad_argument", field=setting)


def _read_table_file(path: Path, setting: str) -> dict[str, Any]:
    """A TOML or JSON file (by its content: JSON if it starts with '{')."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _bad(setting, f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise _bad(setting, f"{path} is neither valid TOML nor JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _bad(setting, f"{path} must hold a table")
    return data


def _tokens(items: Any, setting: str) -> tuple[TokenSpec, ...]:
    if not isinstance(items, list):
        raise _bad(setting, "tokens must be an array of tables")
    out: list[TokenSpec] = []
    seen: set[str] = set()
    for i, t in enumerate(items):
        where = f"tokens[{i}]"
        if not isinstance(t, dict) or set(t) - {"name", "role", "sha256"}:
            raise _bad(setting, f"{where}: expected name, role and sha256")
        name, role, sha = t.get("name"), t.get("role"), str(t.get("sha256", "")).lower()
        if not isinstance(name, str) or not name:
            raise _bad(setting, f"{where}.name is missing")
        if role not in ROLES:
            raise _bad(setting, f"{where}.role {role!r} is not one of {', '.join(ROLES)}")
        if not _SHA256.match(sha):
            raise _bad(setting, f"{where}.sha256 is not 64 hex digits (the token's SHA-256)")
        if name in seen:
            raise _bad(setting, f"{where}.name {name!r} appears twice")
        seen.add(name)
        out.append(TokenSpec(name, str(role), sha))
    return tuple(out)


def _cds_clients(items: Any, setting: str, base: Path) -> tuple[CdsClient, ...]:
    if not isinstance(items, list):
        raise _bad(setting, "cds_clients must be an array of tables")
    out: list[CdsClient] = []
    for i, c in enumerate(items):
        where = f"cds_clients[{i}]"
        if not isinstance(c, dict) or set(c) - {"issuer", "jwks_file", "jwks_url"}:
            raise _bad(setting, f"{where}: expected issuer and jwks_file or jwks_url")
        issuer = c.get("issuer")
        if not isinstance(issuer, str) or not issuer:
            raise _bad(setting, f"{where}.issuer is missing")
        jwks_file, jwks_url = c.get("jwks_file"), c.get("jwks_url")
        if (jwks_file is None) == (jwks_url is None):
            raise _bad(setting, f"{where}: give exactly one of jwks_file and jwks_url")
        jwks: dict[str, Any] | None = None
        if jwks_file is not None:
            path = Path(str(jwks_file))
            jwks = _read_table_file(path if path.is_absolute() else base / path, setting)
            if not isinstance(jwks.get("keys"), list):
                raise _bad(setting, f"{where}.jwks_file {jwks_file} holds no 'keys' array")
        elif not (isinstance(jwks_url, str) and urlsplit(jwks_url).scheme == "https"):
            raise _bad(setting, f"{where}.jwks_url must be an https URL")
        out.append(CdsClient(issuer, jwks, jwks_url if isinstance(jwks_url, str) else None))
    return tuple(out)


def load_settings(
    flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Settings from flags (``None`` = not given), the environment and the config file.

    ``flags`` keys: db, data_dir, host, port, public_url, cds_clients (file), tokens (file),
    config (file), log_level.
    """
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    env = os.environ if env is None else env
    config_path = flags.get("config") or env.get("CMLTRACK_CONFIG")
    config: dict[str, Any] = {}
    config_dir = Path.cwd()
    if config_path:
        p = Path(str(config_path))
        config = _read_table_file(p, "--config")
        config_dir = p.resolve().parent
        unknown = set(config) - {"db", "data_dir", "host", "port", "public_url", "cds_clients",
                                 "tokens", "log_level"}
        if unknown:
            raise _bad("--config", f"{p}: unknown setting {sorted(unknown)[0]!r}")

    def pick(name: str) -> tuple[Any, str, Path]:
        """The value, where it came from (for the error), and the folder paths resolve from."""
        if name in flags:
            return flags[name], "--" + name.replace("_", "-"), Path.cwd()
        key = "CMLTRACK_" + name.upper()
        if env.get(key):
            return env[key], key, Path.cwd()
        if name in config:
            return config[name], f"config key {name!r}", config_dir
        return None, name, Path.cwd()

    db, _, _ = pick("db")
    if db is not None and not isinstance(db, str):
        raise _bad("db", "must be a database URL")
    data_dir_v, src, base = pick("data_dir")
    data_dir = default_data_dir(env) if data_dir_v is None else base / Path(str(data_dir_v))
    host_v, _, _ = pick("host")
    host = str(host_v) if host_v is not None else "127.0.0.1"
    port_v, src, _ = pick("port")
    port = 8000
    if port_v is not None:
        try:
            port = int(port_v)
        except (TypeError, ValueError):
            raise _bad(src, f"{port_v!r} is not a port number") from None
        if not 0 <= port <= 65535:
            raise _bad(src, f"{port} is not a port number (0-65535)")
    public_v, src, _ = pick("public_url")
    public_url = ""
    if public_v is not None:
        parts = urlsplit(str(public_v))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _bad(src, f"{public_v!r} is not an http(s) URL")
        public_url = str(public_v).rstrip("/")
    level_v, src, _ = pick("log_level")
    level = str(level_v).lower() if level_v is not None else "info"
    if level not in LOG_LEVELS:
        raise _bad(src, f"{level_v!r} is not one of {', '.join(LOG_LEVELS)}")

    def arrays(name: str) -> tuple[Any, str, Path]:
        # A flag or variable names a file holding the array; the config holds it inline.
        value, src, base = pick(name)
        if value is None or src.startswith("config"):
            return value, src, config_dir
        p = base / Path(str(value))
        data = _read_table_file(p, src)
        if name not in data:
            raise _bad(src, f"{p} has no {name!r} array")
        return data[name], src, p.resolve().parent

    tok_v, tok_src, _ = arrays("tokens")
    cds_v, cds_src, cds_base = arrays("cds_clients")
    return Settings(
        db=db, data_dir=data_dir, host=host, port=port, public_url=public_url,
        tokens=_tokens(tok_v, tok_src) if tok_v is not None else (),
        cds_clients=_cds_clients(cds_v, cds_src, cds_base) if cds_v is not None else (),
        log_level=level,
    )
