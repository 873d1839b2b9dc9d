"""Settings: documented in docs/settings.md, and unsafe production values refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from orderwatch.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_every_setting_is_documented_and_nothing_else() -> None:
    documented = set(re.findall(r"^\| `ORDERWATCH_([A-Z_]+)`", DOC.read_text(), flags=re.MULTILINE))

    assert documented == {name.upper() for name in Settings.model_fields}


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="ORDERWATCH_SECRET_KEY must be set"):
        Settings(environment="production")


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ORDERWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ORDERWATCH_PORT", "9123")

    settings = Settings()

    assert settings.port == 9123
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'orderwatch.sqlite3'}"
