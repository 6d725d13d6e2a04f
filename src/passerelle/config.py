"""Settings, parsed once at start-up from TOML and the environment. Nothing here opens anything.

Precedence: command-line options > environment (PASSERELLE_*) > the TOML file > defaults.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from passerelle.domain.apps import DAY_S, MIB, App, AppRegistry, IdentityKind, MediaQuota
from passerelle.domain.ids import AppName
from passerelle.domain.privacy import Findability


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    max_body_bytes: int = 64 * 1024
    max_frame_bytes: int = 1024 * 1024
    max_envelope_bytes: int = 64 * 1024
    max_targets: int = 1100
    codes_per_phone: int = 3
    codes_per_phone_window_s: int = 600
    codes_per_client_per_hour: int = 10
    code_ttl_s: int = 600
    code_attempts: int = 5
    logins_per_window: int = 10
    login_window_s: int = 600
    sends_per_second: float = 200.0
    send_burst: int = 400
    lookups_per_minute: int = 30
    max_one_time_keys: int = 200
    keys_low_threshold: int = 10
    token_ttl_s: int = 30 * DAY_S
    challenge_ttl_s: int = 60
    send_queue_frames: int = 1024
    """Frames waiting for a slow connection (ASGI gateway) before it is closed with 1013."""
    send_buffer_bytes: int = 4 * 1024 * 1024
    """Bytes waiting for a slow connection (picows gateway) before it is closed with 1013."""
    max_blob_bytes: int = 100 * 1024 * 1024
    """The largest encrypted media blob (its declared size at upload)."""
    blob_chunk_bytes: int = 4 * 1024 * 1024
    """The largest body of one upload chunk (PATCH /v1/media/uploads/{blob})."""
    max_pending_uploads: int = 16
    """Unfinished uploads one account may hold at a time."""
    upload_ttl_s: int = DAY_S
    """An upload not finished within this time is abandoned; the janitor deletes it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    apps: AppRegistry
    data_dir: Path = Path("data")
    database_url: str = ""
    """sqlite:///path or postgresql://...; empty means SQLite under data_dir."""
    redis_url: str = ""
    """Empty means one process with the in-process broker."""
    host: str = "127.0.0.1"
    port: int = 8000
    ws_port: int | None = None
    """When set, the fast (picows) WebSocket gateway also listens on this port (0: any free port)."""
    code_sender: str = "console"
    """'console' prints codes to the server console (development only); an http(s) URL posts them."""
    admin_token: str = field(default="", repr=False)
    """The operator's bearer token for the moderation API (/v1/admin/...); empty: that API is off.
    Never logged or shown (PASSERELLE_ADMIN_TOKEN in the environment keeps it out of files)."""
    code_key: str = field(default="", repr=False)
    """The secret one-time codes are stored under (an HMAC key, at least 32 characters). Empty: a
    random key in ``<data_dir>/code.key``, created 0600 at first start. Several nodes must share
    one (set PASSERELLE_CODE_KEY alike on each). Never logged or shown; kept out of the database."""
    sqlite_synchronous: str = "FULL"
    janitor_interval_s: float = 60.0
    commit_delay_s: float = 0.001
    """At light load, how long a commit waits for more messages to share it (0: never)."""
    idempotency_window_s: int = 7 * DAY_S
    log_level: str = "info"
    limits: Limits = field(default_factory=Limits)

    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'passerelle.db'}"


def _app_from_toml(name: str, raw: dict[str, Any]) -> App:
    try:
        return App(
            name=AppName(name),
            display_name=str(raw.get("display_name", name.title())),
            identity=IdentityKind(raw["identity"]),
            colors={str(k): str(v) for k, v in dict(raw.get("colors", {})).items()},
            features=frozenset(str(f) for f in raw.get("features", [])),
            default_findability=Findability(raw.get("findability", "everyone")),
            retention_s=int(raw.get("retention_days", 30)) * DAY_S,
            media_quota=_media_quota(raw),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise ValueError(f"app {name!r} in the configuration is invalid: {exc}") from exc


def _media_quota(raw: dict[str, Any]) -> MediaQuota:
    default = MediaQuota()
    return MediaQuota(
        max_bytes=int(raw.get("media_quota_mib", default.max_bytes // MIB)) * MIB,
        max_blobs=int(raw.get("media_quota_blobs", default.max_blobs)),
    )


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read the TOML file (the bundled default apps when None), then the environment, then overrides."""
    if config_file is None:
        text = resources.files("passerelle").joinpath("default_apps.toml").read_text("utf-8")
    else:
        text = config_file.read_text("utf-8")
    raw = tomllib.loads(text)
    apps_raw = raw.get("apps", {})
    if not apps_raw:
        raise ValueError("the configuration declares no [apps.<name>] table")
    apps = AppRegistry({AppName(n): _app_from_toml(n, a) for n, a in apps_raw.items()})
    server = dict(raw.get("server", {}))
    limits = Limits(**dict(raw.get("limits", {})))
    settings = Settings(apps=apps, limits=limits)
    known = {f for f in Settings.__dataclass_fields__ if f not in {"apps", "limits"}}
    values: dict[str, Any] = {k: v for k, v in server.items() if k in known}
    unknown = set(server) - known
    if unknown:
        raise ValueError(f"unknown [server] settings: {', '.join(sorted(unknown))}")
    for key in known:
        env = os.environ.get(f"PASSERELLE_{key.upper()}")
        if env is not None:
            values[key] = env
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "data_dir" in values:
        values["data_dir"] = Path(values["data_dir"])
    for key in ("port", "ws_port"):
        if key in values and values[key] is not None:
            values[key] = int(values[key])
    for key in ("janitor_interval_s", "commit_delay_s"):
        if key in values:
            values[key] = float(values[key])
    if "idempotency_window_s" in values:
        values["idempotency_window_s"] = int(values["idempotency_window_s"])
    return replace(settings, **values)
