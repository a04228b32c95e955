"""Settings come from the environment; production refuses a guessable signing secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from stateasset.settings import DEV_SECRET, Settings, _from_env


def test_environment_values_are_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATEASSET_TOKEN_MINUTES", "15")
    monkeypatch.setenv("STATEASSET_LOG_JSON", "true")
    monkeypatch.setenv("STATEASSET_DATA_DIR", "/srv/stateasset")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/stateasset")
    settings = _from_env()
    assert settings.token_minutes == 15
    assert settings.log_json is True
    assert settings.data_dir == Path("/srv/stateasset")
    assert settings.database_url == "postgresql://db/stateasset"


@pytest.mark.parametrize("secret", [DEV_SECRET, "short-secret"])
def test_production_refuses_a_weak_secret(secret: str) -> None:
    with pytest.raises(RuntimeError, match="STATEASSET_JWT_SECRET"):
        Settings(environment="production", jwt_secret=secret).check()


def test_production_accepts_a_long_random_secret() -> None:
    Settings(environment="production", jwt_secret="9f" * 20).check()
    Settings(environment="development").check()  # the development default is fine there
