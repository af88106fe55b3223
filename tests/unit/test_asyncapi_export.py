"""The committed AsyncAPI exports (docs/asyncapi/) match what the code generates (CI drift check)."""

from __future__ import annotations

import json

import pytest

from runtime.asyncapi_export import EXPORT_COMMAND, export_path, render
from runtime.settings import SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_committed_export_matches_the_code(service: str) -> None:
    path = export_path(service)
    assert path.is_file(), f"{path} is missing: run `{EXPORT_COMMAND}` and commit the result"
    assert path.read_text(encoding="utf-8") == render(service), (
        f"{path} differs from the events the code publishes and consumes: run `{EXPORT_COMMAND}` and commit it"
    )


def test_export_is_stable_and_names_the_service_subjects() -> None:
    first, second = render("documents"), render("documents")
    assert first == second
    document = json.loads(first)
    addresses = {channel.get("address") for channel in document["channels"].values()}
    assert "documents.document.uploaded" in addresses  # published
    assert "congress.user.created" in addresses  # consumed (record and main consumers)
