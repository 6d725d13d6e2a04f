"""Settings: a file overrides the defaults (and keeps the bundled apps unless it declares its own);
the environment and options override the file; anything unusable is one clear ConfigError."""

from __future__ import annotations

from pathlib import Path

import pytest

from passerelle.config import ConfigError, load_settings
from passerelle.domain.limits import Limits


@pytest.fixture(autouse=True)
def no_passerelle_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("PASSERELLE_"):
            monkeypatch.delenv(key)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "passerelle.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_defaults() -> None:
    settings = load_settings()
    assert (settings.host, settings.port, settings.log_format, settings.log_level) == (
        "127.0.0.1",
        8000,
        "console",
        "info",
    )
    assert [a.name for a in settings.apps] == ["chat", "photo", "social"]


def test_a_file_with_only_a_server_table_overrides_the_defaults_and_keeps_the_default_apps(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, '[server]\nport = 9001\nhost = "0.0.0.0"\nlog_format = "json"\n')
    settings = load_settings(path)
    assert (settings.port, settings.host, settings.log_format) == (9001, "0.0.0.0", "json")
    assert [a.name for a in settings.apps] == ["chat", "photo", "social"]
    assert settings.limits == Limits()


def test_an_empty_file_is_the_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""))
    assert settings.port == 8000
    assert [a.name for a in settings.apps] == ["chat", "photo", "social"]


def test_a_file_that_declares_apps_replaces_the_bundled_ones(tmp_path: Path) -> None:
    path = write(tmp_path, '[apps.notes]\nidentity = "handle"\n[limits]\nsends_per_second = 50\n')
    settings = load_settings(path)
    assert [a.name for a in settings.apps] == ["notes"]
    assert settings.limits.sends_per_second == 50.0
    assert settings.limits.send_burst == Limits().send_burst


def test_precedence_options_then_environment_then_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "[server]\nport = 9001\njanitor_interval_s = 5\n")
    monkeypatch.setenv("PASSERELLE_PORT", "9002")
    monkeypatch.setenv("PASSERELLE_LOG_FORMAT", "JSON")
    settings = load_settings(path)
    assert (settings.port, settings.janitor_interval_s, settings.log_format) == (9002, 5.0, "json")
    assert load_settings(path, port=9003, data_dir=tmp_path / "d").port == 9003
    assert load_settings(path, data_dir=tmp_path / "d").data_dir == tmp_path / "d"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[server]\nport = "abc"\n', "port = 'abc' ([server] in "),
        ("[server]\nport = 70000\n", "a TCP port is 0 to 65535"),
        ('[server]\nlog_format = "xml"\n', "log_format = 'xml' ([server] in "),
        ('[server]\nlog_level = "loud"\n', "expected one of debug, info, warning, error, critical"),
        ('[server]\ncode_sender = "sms"\n', "expected console or an http(s) URL"),
        ("[server]\nportt = 1\n", "unknown [server] settings in "),
        ("[limits]\nsends_per_second = -1\n", "must not be negative"),
        ('[limits]\nmax_body_bytes = "big"\n', "expected a whole number"),
        ("[limits]\nmax_bodies = 1\n", "unknown [limits] settings"),
        ("[servr]\nport = 1\n", "unknown table(s) in "),
        ("server = 3\n", "[server] in "),
        ("[apps.chat]\nidentity = 'fax'\n", "[apps.chat] in "),
        ("[apps.chat]\ncolors = {}\n", "has no identity"),
        ("[server\nport = 1\n", "is not valid TOML"),
    ],
)
def test_a_bad_file_is_one_clear_line(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


def test_a_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_JANITOR_INTERVAL_S", "soon")
    with pytest.raises(ConfigError, match="PASSERELLE_JANITOR_INTERVAL_S in the environment"):
        load_settings()


def test_trusted_proxies_come_from_the_environment_and_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().trusted_proxies == "127.0.0.1,::1"
    monkeypatch.setenv("PASSERELLE_TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.1")
    assert load_settings().trusted_proxies == "10.0.0.0/8,127.0.0.1"
    monkeypatch.setenv("PASSERELLE_TRUSTED_PROXIES", "10.0.0.0/8,haproxy")
    with pytest.raises(ConfigError, match="'haproxy' is not an IP address or network"):
        load_settings()


def test_a_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read the configuration .*nowhere\.toml"):
        load_settings(tmp_path / "nowhere.toml")


def test_a_secret_is_never_repeated_in_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_CODE_KEY", "short-s3cret")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "code_key (its value not shown) (PASSERELLE_CODE_KEY in the environment)" in str(caught.value)
    assert "s3cret" not in str(caught.value)
    path = write(tmp_path, "[server]\nadmin_token = 12345678\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "admin_token (its value not shown)" in str(caught.value)
    assert "12345678" not in str(caught.value)


def test_a_bad_option_names_the_option() -> None:
    with pytest.raises(
        ConfigError, match=r"log_format = 'xml' \(--log-format\): expected one of console, json"
    ):
        load_settings(log_format="xml")


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"database_url": "mysql://root:pw@db/x"}, "database_url (--database-url) starts with 'mysql'"),
        ({"redis_url": "http://cache"}, "redis_url (--redis-url) starts with 'http': expected redis://"),
    ],
)
def test_a_url_the_server_cannot_use_is_one_line_without_its_password(
    override: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, **override)
    assert expected in str(caught.value)
    assert "pw" not in str(caught.value)


def test_the_urls_the_server_uses_are_accepted() -> None:
    settings = load_settings(database_url="postgresql://u:p@db/x", redis_url="redis://cache:6379/0")
    assert settings.database_url.startswith("postgresql://")
    assert load_settings(database_url="sqlite:///tmp/x.db", redis_url="local").redis_url == "local"
    assert load_settings(database_url="memory:").effective_database_url() == "memory:"


def test_business_stop_words_default_and_replaced(tmp_path: Path) -> None:
    assert load_settings().business_stop_words["fr"] == ("ARRET", "STOP", "DESABONNER")
    path = write(tmp_path, '[business_stop_words]\nen = ["STOP", "QUIT"]\nit = ["BASTA"]\n')
    assert load_settings(path).business_stop_words == {"en": ("STOP", "QUIT"), "it": ("BASTA",)}


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('English = ["STOP"]', "not a language code"),
        ("en = []", "1 to 32 words"),
        ('en = "STOP"', "1 to 32 words"),
        ('en = ["!!"]', "not only punctuation"),
        (f'en = ["{"x" * 65}"]', "1 to 64 characters"),
    ],
)
def test_bad_business_stop_words_are_refused(tmp_path: Path, table: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_settings(write(tmp_path, f"[business_stop_words]\n{table}\n"))
