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


def test_the_repository_constant_is_refused_everywhere() -> None:
    # It was the default signing secret in every checkout: anyone could forge tokens with it.
    for environment in ("development", "test", "production"):
        with pytest.raises(RuntimeError, match="STATEASSET_JWT_SECRET"):
            Settings(environment=environment, jwt_secret=DEV_SECRET).check()


def test_signing_secret_is_generated_once_per_data_folder(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from stateasset.settings import resolve_secrets

    settings = Settings(data_dir=tmp_path / "data")
    # Many starts at once (workers of one server) must all sign with the same secret.
    with ThreadPoolExecutor(8) as pool:
        secrets = set(pool.map(lambda _: resolve_secrets(settings).jwt_secret, range(16)))
    assert len(secrets) == 1
    secret = secrets.pop()
    key = tmp_path / "data" / "jwt.key"
    assert key.read_text().strip() == secret
    assert len(secret) == 64 and int(secret, 16) >= 0
    assert key.stat().st_mode & 0o777 == 0o600
    assert list((tmp_path / "data").iterdir()) == [key]  # no temporary files left behind
    assert resolve_secrets(settings).jwt_secret == secret  # a restart keeps it
    resolve_secrets(settings).check()
    other = resolve_secrets(Settings(data_dir=tmp_path / "other")).jwt_secret
    assert other != secret


def test_a_given_secret_is_used_and_no_file_is_written(tmp_path: Path) -> None:
    from stateasset.settings import resolve_secrets

    settings = resolve_secrets(Settings(data_dir=tmp_path, jwt_secret="9f" * 20))
    assert settings.jwt_secret == "9f" * 20
    assert not (tmp_path / "jwt.key").exists()
