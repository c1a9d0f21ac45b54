from __future__ import annotations

from pathlib import Path

import pytest

from conductor.settings import Settings, SettingsError, load_settings

DOCS = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text()
    missing = [name for name in Settings.model_fields if f"CONDUCTOR_{name.upper()}" not in text]
    assert missing == []


def test_defaults_run_embedded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    settings = load_settings()
    assert settings.database_url.startswith("sqlite:")
    assert settings.redis_url is None
    assert (settings.host, settings.port) == ("127.0.0.1", 8003)
    assert settings.auth_enabled


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CONDUCTOR_PORT=9001\nCONDUCTOR_REDIS_URL=redis://r:6379/2\n")
    monkeypatch.setenv("CONDUCTOR_PORT", "9002")
    settings = load_settings()
    assert settings.port == 9002  # the environment wins over .env
    assert settings.redis_url == "redis://r:6379/2"


@pytest.mark.parametrize(
    "variable,value,named",
    [
        ("CONDUCTOR_PORT", "99999", "CONDUCTOR_PORT"),
        ("CONDUCTOR_DATABASE_URL", "mysql://x/y", "CONDUCTOR_DATABASE_URL"),
        ("CONDUCTOR_REDIS_URL", "http://nope", "CONDUCTOR_REDIS_URL"),
        ("CONDUCTOR_DEFAULT_MODE", "SOMETIMES", "CONDUCTOR_DEFAULT_MODE"),
        ("CONDUCTOR_CONFIDENCE_THRESHOLD", "1.5", "CONDUCTOR_CONFIDENCE_THRESHOLD"),
    ],
)
def test_a_wrong_setting_names_itself(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, named: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert named in str(error.value)


def test_auth_can_only_be_switched_off_on_loopback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert not load_settings(auth_enabled=False, host="127.0.0.1").auth_enabled
    with pytest.raises(SettingsError, match="loopback"):
        load_settings(auth_enabled=False, host="0.0.0.0")
