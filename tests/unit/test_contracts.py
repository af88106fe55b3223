"""Contracts: subjects are derived from class names, envelopes are frozen and carry their headers."""

import uuid

import pytest
from pydantic import ValidationError

import contracts.congress as cc
import contracts.documents as cd
import contracts.signing as cs
from contracts.base import event_class_for
from contracts.streams import SERVICE_STREAMS, stream_for_subject


def test_subjects_follow_the_event_map():
    assert cc.UserCreated.subject == "congress.user.created"
    assert cc.DelegateCheckedIn.subject == "congress.delegate.checked_in"
    assert cc.CongressClosed.subject == "congress.congress.closed"
    assert cd.DocumentApproved.subject == "documents.document.approved"
    assert cd.ArchiveSealRequested.subject == "documents.archive.seal_requested"
    assert cd.ArchiveFixityChecked.subject == "documents.archive.fixity_checked"
    assert cs.RequestCompleted.subject == "signing.request.completed"
    assert cs.SealApplied.subject == "signing.seal.applied"


def test_every_subject_maps_back_to_its_class_and_stream():
    for module in (cc, cd, cs):
        for obj in vars(module).values():
            if isinstance(obj, type) and getattr(obj, "subject", "") and obj.__module__ == module.__name__:
                assert event_class_for(obj.subject) is obj
                assert stream_for_subject(obj.subject) is SERVICE_STREAMS[module.PRODUCER]


def test_events_are_frozen_and_strict():
    event = cc.DelegateRemoved(delegate_id=uuid.uuid4(), congress_id=uuid.uuid4())
    with pytest.raises(ValidationError):
        event.delegate_id = uuid.uuid4()  # type: ignore[misc]
    with pytest.raises(ValidationError):
        cc.DelegateRemoved(delegate_id=uuid.uuid4(), phone="0900000000")  # type: ignore[call-arg]


def test_headers_carry_id_type_version_and_congress():
    congress_id = uuid.uuid4()
    event = cc.CongressOpened(congress_id=congress_id, correlation_id="abc")
    headers = event.headers()
    assert headers["Nats-Msg-Id"] == str(event.event_id)
    assert headers["Event-Type"] == "congress.congress.opened"
    assert headers["Event-Version"] == "1"
    assert headers["Congress-Id"] == str(congress_id)
    assert headers["Correlation-Id"] == "abc"
    assert cc.CongressOpened.model_validate_json(event.to_bytes()) == event


def test_no_event_carries_personal_contact_data():
    for module in (cc, cd, cs):
        for obj in vars(module).values():
            if isinstance(obj, type) and getattr(obj, "subject", ""):
                assert not {"phone", "email"} & set(obj.model_fields), obj.__name__
