"""Runtime pieces without I/O: language choice, translations, path redaction, database URLs."""

import pytest

from runtime import i18n
from runtime.db import async_url, sync_url
from runtime.logs import redact_path
from runtime.settings import CommonSettings


@pytest.mark.parametrize(
    ("header", "chosen", "expected"),
    [
        (None, None, "vi"),
        ("en-US,en;q=0.9", None, "en"),
        ("fr-FR, vi;q=0.5, en;q=0.4", None, "vi"),
        ("de", None, "vi"),
        ("en", "vi", "vi"),
        ("vi", "en", "en"),
        ("en;q=garbage, vi;q=0.1", None, "vi"),
    ],
)
def test_language_negotiation(header, chosen, expected):
    assert i18n.negotiate(header, chosen) == expected


def test_vietnamese_catalogue_is_used_and_english_is_the_msgid():
    assert i18n.gettext("Not found.", "vi") == "Không tìm thấy."
    assert i18n.gettext("Not found.", "en") == "Not found."
    assert i18n.gettext("Field '{field}': {problem}", "vi", field="title", problem="x") == "Trường 'title': x"


def test_token_paths_are_redacted():
    assert redact_path("/q/AbC123xyz") == "/q/***"
    assert redact_path("/q/AbC123xyz/file") == "/q/***/file"
    assert redact_path("/d/secret") == "/d/***"
    assert redact_path("/c/code?x=1") == "/c/***?x=1"
    assert redact_path("/api/congresses") == "/api/congresses"


def test_database_urls():
    assert async_url("sqlite:////tmp/x.db") == "sqlite+inline:////tmp/x.db"
    assert sync_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert async_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert sync_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(ValueError):
        async_url("mysql://x")


def test_production_refuses_placeholder_secrets(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("NATS_URL", "nats://n1:4222")
    monkeypatch.setenv("SECRET_KEY", "changeme")
    with pytest.raises(ValueError, match="SECRET_KEY"):
        CommonSettings()
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    assert CommonSettings().environment == "production"


def test_public_base_url_defaults_to_lan_address_and_port(monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "8123")
    url = CommonSettings().public_base_url
    assert url.startswith("http://") and url.endswith(":8123")
