"""Scans counted in memory survive a normal stop: SIGTERM the congress service right after
some scans, start it again, and the counts (and their aggregated event) are there.

The periodic write is set to 10 minutes here, so only the write at shutdown can have saved them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.congress_fixtures import (
    admin_client,
    approved_document,
    events_on_stream,
    new_secretary,
    publish_when_known,
)
from tests.support.system import System, start_system


@pytest.fixture(scope="module")
def congress_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    running = start_system(tmp_path_factory.mktemp("views"), services=("congress",),
                           service_env_overrides={"congress": {"VIEW_FLUSH_SECONDS": "600"}})
    try:
        yield running
    finally:
        running.stop()


def test_views_counted_just_before_sigterm_are_kept(congress_only: System) -> None:
    url = congress_only.service_url("congress")
    admin = admin_client(url)
    secretary = new_secretary(url, admin)
    congress_id = secretary.post("/api/congresses", json={"title": "Đại hội Hội Nông dân xã Tân Lập"}).json()["id"]
    document = approved_document(congress_only.nats_url, congress_id, "Báo cáo chính trị")
    published = publish_when_known(secretary, congress_id, {"document_id": document.document_id})
    assert published.status_code == 201, published.text
    publication = published.json()

    scans = 7
    for _ in range(scans):
        assert secretary.get(f"/q/{publication['token']}").status_code == 200
    before = secretary.get(f"/api/congresses/{congress_id}/publications/{publication['id']}").json()
    assert before["views"] == 0  # still only in memory: the periodic write is 10 minutes away

    service = congress_only.services["congress"]
    service.stop(timeout=20)  # SIGTERM: a normal stop (uvicorn re-raises the signal once it has shut down)
    assert '"service.stopped"' in service.log_tail()
    service.start()

    after = admin_client(url).get(f"/api/congresses/{congress_id}/publications/{publication['id']}").json()
    assert after["views"] == scans
    events = [e for e in events_on_stream(congress_only.nats_url, "congress.document.viewed")
              if e["publication_id"] == publication["id"]]
    assert sum(e["views"] for e in events) == scans
