"""Settings, parsed once at start-up from TOML and the environment. Nothing here opens anything.

Precedence: command-line options > environment (PASSERELLE_*) > the TOML file > defaults.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from passerelle.domain.apps import DAY_S, MIB, App, AppRegistry, IdentityKind, MediaQuota
from passerelle.domain.business.consent import DEFAULT_STOP_WORDS, check_stop_words
from passerelle.domain.business.templates import auto_approve_rule
from passerelle.domain.ids import AppName
from passerelle.domain.limits import Limits
from passerelle.domain.privacy import Findability
from passerelle.domain.proxies import DEFAULT as PROXIES_DEFAULT
from passerelle.domain.proxies import TrustedProxies


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    apps: AppRegistry
    data_dir: Path = Path("data")
    database_url: str = ""
    """sqlite:///path or postgresql://...; empty means SQLite under data_dir; memory: keeps
    nothing once the process ends (tests and trials only)."""
    redis_url: str = ""
    """Empty means one process with the in-process broker."""
    redis_key_prefix: str = "passerelle:rl"
    """Where this deployment's shared rate limits live in Redis; deployments that share one Redis
    database need prefixes of their own."""
    blob_url: str = ""
    """Where media and story blobs go: empty (or ``file:``) is ``<data_dir>/blobs`` (one node),
    ``file:///folder`` another folder, ``s3://bucket/prefix`` S3-compatible object storage that
    several nodes share (docs/operations.md)."""
    s3_endpoint: str = ""
    """The S3-compatible server's URL (MinIO, Ceph...); empty: AWS, or AWS_ENDPOINT_URL."""
    s3_region: str = ""
    """Empty: AWS_REGION from the environment (or us-east-1)."""
    s3_access_key_id: str = field(default="", repr=False)
    """Empty: AWS_ACCESS_KEY_ID (or the machine's role). Never logged or shown."""
    s3_secret_access_key: str = field(default="", repr=False)
    """Empty: AWS_SECRET_ACCESS_KEY (or the machine's role). Never logged or shown."""
    host: str = "127.0.0.1"
    port: int = 8000
    trusted_proxies: str = PROXIES_DEFAULT
    """The reverse proxies and load balancers in front (comma-separated addresses or networks; empty:
    none): only their X-Forwarded-For is believed, so per-address limits count the real client."""
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
    shutdown_grace_s: float = 5.0
    """On SIGTERM or SIGINT, /readyz answers 503 this long before the node stops accepting (so a load
    balancer stops sending it new clients first); docs/operations.md, graceful shutdown."""
    shutdown_timeout_s: float = 20.0
    """After the grace, the bound on finishing what was accepted and closing the WebSockets."""
    commit_delay_s: float = 0.001
    """At light load, how long a commit waits for more messages to share it (0: never)."""
    ack_delay_s: float = 0.02
    """Acknowledged mailbox items are deleted this long after the first ack of a round, all in one
    transaction (0: at once, with the next batch). Nobody waits on it: it only delays deleting what
    was already delivered."""
    idempotency_window_s: int = 7 * DAY_S
    webhook_timeout_s: float = 10.0
    """Business webhooks (docs/business.md section 9): each handshake and POST, as a whole."""
    webhook_backoff_base_s: float = 1.0
    """The first retry's wait; doubled at each failure (with jitter) up to webhook_backoff_cap_s."""
    webhook_backoff_cap_s: float = 3600.0
    webhook_max_age_s: float = float(DAY_S)
    """An event still not answered with a 2xx this long after it was enqueued is dropped."""
    webhook_concurrency: int = 64
    """Webhook POSTs in flight at once across businesses (one per business)."""
    webhook_outbox_cap: int = 10_000
    """Events waiting per business; at the cap new events are dropped (and counted)."""
    operator_name: str = "passerelle"
    """Who runs this deployment, as business endpoints' hosting statements name it (docs/business.md
    section 4): a customer's app shows "hosted by <operator_name>" for a hosted business."""
    business_webhook_private_urls: bool = False
    """Let a business's bot register its own webhook (docs/business.md section 9) at a non-public
    address (loopback, private, link-local…): for development and tests. The operator's ``webhook
    set`` may always."""
    hosted_endpoints: bool = True
    """Run the hosted business endpoints enrolled on this node (their keys are in
    ``<data_dir>/endpoints``) inside this process."""
    public_url: str = ""
    """How this node's hosted endpoints reach its API (empty: ``http://<host>:<port>``)."""
    business_quality_interval_s: float = 600.0
    """How often each node evaluates businesses' quality ratings (numbers, templates) and, every 6
    hours at most, their messaging-limit tiers (docs/business.md section 5)."""
    business_template_auto_approve: str = "none"
    """Which new message templates are approved at once, without the operator (development):
    ``none``, ``all``, or categories such as ``utility,authentication`` (docs/operations.md)."""
    log_level: str = "info"
    """debug, info, warning, error or critical."""
    log_format: str = "console"
    """console (one readable line per event) or json (one JSON object per line, for collectors)."""
    limits: Limits = field(default_factory=Limits)
    business_stop_words: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_STOP_WORDS)
    )
    """Per language, the whole messages that stop a business's marketing (the ``[business_stop_words]``
    table; published to the apps by ``GET /v1/apps``, matched on the person's device)."""

    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'passerelle.db'}"


class ConfigError(ValueError):
    """The configuration cannot be used; the message says, in one line, which setting and why."""


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("console", "json")
SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
TABLES = ("server", "limits", "apps", "business_stop_words")
_CHOICES: dict[str, tuple[str, ...]] = {
    "log_level": LOG_LEVELS,
    "log_format": LOG_FORMATS,
    "sqlite_synchronous": SQLITE_SYNCHRONOUS,
}
_FIXED = {"apps", "limits", "business_stop_words"}
"""Settings fields that are tables of their own, not ``[server]`` values."""


def _app_from_toml(name: str, raw: object, origin: str) -> App:
    if not isinstance(raw, dict):
        raise ConfigError(f"[apps.{name}] in {origin} must be a table")
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
            allowed_origins=tuple(str(o) for o in raw.get("allowed_origins", [])),
        )
    except KeyError as exc:
        raise ConfigError(
            f"[apps.{name}] in {origin} has no {exc.args[0]} (phone, handle or profile)"
        ) from exc
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"[apps.{name}] in {origin} is invalid: {exc}") from exc


def _read(config_file: Path | None) -> tuple[dict[str, Any], str]:
    """The TOML document and a name for it in messages."""
    if config_file is None:
        text = resources.files("passerelle").joinpath("default_apps.toml").read_text("utf-8")
        return tomllib.loads(text), "the bundled default_apps.toml"
    origin = str(config_file)
    try:
        text = config_file.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration {origin}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the configuration {origin} is not UTF-8 text") from exc
    try:
        return tomllib.loads(text), origin
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the configuration {origin} is not valid TOML: {exc}") from exc


def _coerce(key: str, value: Any, default: Any, where: str) -> Any:
    """``value`` (from TOML, or a string from the environment) as the type of the setting's default.

    Values already of the right type (as tests and the demo pass them) go through unchanged."""
    kind = "int" if default is None else type(default).__name__  # ws_port: an optional port number
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
                return value.lower() in ("true", "1", "yes")
            raise ValueError
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise ValueError
            return int(value)
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError
            return float(value)
        if kind in ("PosixPath", "WindowsPath", "Path"):
            if not isinstance(value, str | Path) or not str(value):
                raise ValueError
            return Path(value)
        if kind == "str":
            if not isinstance(value, str):
                raise ValueError
            return value
    except ValueError:
        words = {"int": "a whole number", "float": "a number", "bool": "true or false"}
        wanted = words.get(kind, "a path" if "Path" in kind else "a string")
        raise ConfigError(f"{_shown(key, value)} ({where}): expected {wanted}") from None
    return value


SECRETS = ("admin_token", "code_key", "database_url", "redis_url", "s3_access_key_id", "s3_secret_access_key")
"""Settings whose value is never repeated in a message (a token, a key, a URL's password)."""
MIN_CODE_KEY_CHARS = 32
_URL_SCHEMES: dict[str, tuple[str, ...]] = {
    "database_url": ("sqlite:///", "postgresql://", "postgres://", "memory:"),
    "redis_url": ("redis://", "rediss://", "unix://"),
    "blob_url": ("file:", "s3://"),
    "s3_endpoint": ("http://", "https://"),
}
"""What the storage and broker adapters accept (empty: SQLite in data_dir, one process)."""


def _shown(key: str, value: Any) -> str:
    return f"{key} (its value not shown)" if key in SECRETS else f"{key} = {value!r}"


def _check(key: str, value: Any, where: str) -> Any:
    """Values that have the right type but cannot be used."""
    choices = _CHOICES.get(key)
    if choices is not None:
        wanted = value.upper() if key == "sqlite_synchronous" else value.lower()
        if wanted not in choices:
            raise ConfigError(f"{_shown(key, value)} ({where}): expected one of {', '.join(choices)}")
        return wanted
    schemes = _URL_SCHEMES.get(key)
    if schemes is not None and value not in ("", "local") and not value.startswith(schemes):
        scheme = value.split(":", 1)[0] if ":" in value else value[:12]
        wanted = " or ".join(f"{s}..." for s in schemes)
        raise ConfigError(f"{key} ({where}) starts with {scheme!r}: expected {wanted} (or nothing)")
    if key == "code_key" and value and len(value) < MIN_CODE_KEY_CHARS:
        raise ConfigError(f"{_shown(key, value)} ({where}): at least {MIN_CODE_KEY_CHARS} characters")
    if key == "trusted_proxies":
        try:
            TrustedProxies(value)
        except ValueError as exc:
            raise ConfigError(f"{_shown(key, value)} ({where}): {exc}") from None
    if key == "business_template_auto_approve":
        try:
            auto_approve_rule(value)
        except ValueError as exc:
            raise ConfigError(f"{_shown(key, value)} ({where}): {exc}") from None
    if key == "code_sender" and value != "console" and not value.startswith(("http://", "https://")):
        raise ConfigError(f"{_shown(key, value)} ({where}): expected console or an http(s) URL")
    if key in ("port", "ws_port") and value is not None and not 0 <= value <= 65535:
        raise ConfigError(f"{_shown(key, value)} ({where}): a TCP port is 0 to 65535")
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        raise ConfigError(f"{_shown(key, value)} ({where}): must not be negative")
    return value


def _table(raw: dict[str, Any], name: str, origin: str) -> dict[str, Any]:
    table = raw.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"[{name}] in {origin} must be a table")
    return table


def _media_quota(raw: dict[str, Any]) -> MediaQuota:
    default = MediaQuota()
    return MediaQuota(
        max_bytes=int(raw.get("media_quota_mib", default.max_bytes // MIB)) * MIB,
        max_blobs=int(raw.get("media_quota_blobs", default.max_blobs)),
    )


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read the TOML file (the bundled default apps when None), then the environment, then overrides.

    A file without ``[apps.<name>]`` tables keeps the bundled apps. Raises ConfigError, whose message
    is one line naming the setting, where it came from and what was expected."""
    raw, origin = _read(config_file)
    unknown_tables = set(raw) - set(TABLES)
    if unknown_tables:
        raise ConfigError(
            f"unknown table(s) in {origin}: {', '.join(sorted(unknown_tables))} (known: {', '.join(TABLES)})"
        )
    apps_raw = _table(raw, "apps", origin)
    if not apps_raw:
        apps_raw, apps_origin = _read(None)[0]["apps"], "the bundled default_apps.toml"
    else:
        apps_origin = origin
    apps = AppRegistry({AppName(n): _app_from_toml(n, a, apps_origin) for n, a in apps_raw.items()})

    limit_defaults = Limits()
    limits_raw = _table(raw, "limits", origin)
    unknown_limits = set(limits_raw) - set(Limits.__dataclass_fields__)
    if unknown_limits:
        raise ConfigError(f"unknown [limits] settings in {origin}: {', '.join(sorted(unknown_limits))}")
    where = f"[limits] in {origin}"
    limits = replace(
        limit_defaults,
        **{
            k: _check(k, _coerce(k, v, getattr(limit_defaults, k), where), where)
            for k, v in limits_raw.items()
        },
    )

    stop_raw = _table(raw, "business_stop_words", origin)
    try:
        stop = check_stop_words(stop_raw) if stop_raw else dict(DEFAULT_STOP_WORDS)
    except ValueError as exc:
        raise ConfigError(f"[business_stop_words] in {origin}: {exc}") from None
    settings = Settings(apps=apps, limits=limits, business_stop_words=stop)
    known = [f for f in Settings.__dataclass_fields__ if f not in _FIXED]
    server = _table(raw, "server", origin)
    unknown = set(server) - set(known)
    if unknown:
        raise ConfigError(f"unknown [server] settings in {origin}: {', '.join(sorted(unknown))}")
    sources: dict[str, tuple[Any, str]] = {k: (v, f"[server] in {origin}") for k, v in server.items()}
    for key in known:
        env = os.environ.get(f"PASSERELLE_{key.upper()}")
        if env is not None:
            sources[key] = (env, f"PASSERELLE_{key.upper()} in the environment")
    for key, value in overrides.items():
        if value is not None:
            sources[key] = (value, f"--{key.replace('_', '-')}")
    values: dict[str, Any] = {}
    for key, (value, where) in sources.items():
        if key in _FIXED:
            values[key] = value
            continue
        if key not in Settings.__dataclass_fields__:
            raise ConfigError(f"unknown setting {key} ({where})")
        values[key] = _check(key, _coerce(key, value, getattr(settings, key), where), where)
    return replace(settings, **values)
