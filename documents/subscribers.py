"""Every event the documents service consumes, and the handler each one goes to.

`READ_MODELS` names, per purpose, the tables its handlers build from events alone, which
`python -m runtime.replay documents --purpose <purpose>` may drop and rebuild from the streams.
"""

from sqlalchemy import Table

import contracts.congress
import contracts.documents
import contracts.signing
from contracts.streams import SERVICE_STREAMS
from documents.db import access, agenda_items, agendas, checkins, congresses, delegates, publications, signatures
from documents.handlers import archive, when_congress_changes, when_signing_progresses
from documents.eventlog import record_event
from runtime.asyncapi import published_events
from runtime.inbox import Subscription

# -- record: a copy of every event of every stream (documents/eventlog.py) -------------------
# Not a read model: the archive relies on it when the streams no longer hold the events, so
# replay never drops it.

RECORD_SUBSCRIPTIONS: list[Subscription] = [
    Subscription(SERVICE_STREAMS[producer], handlers=dict.fromkeys(published_events(module), record_event),
                 purpose="record")
    for producer, module in (
        ("congress", contracts.congress),
        ("documents", contracts.documents),
        ("signing", contracts.signing),
    )
]

# -- main: the documents service's own read models -------------------------------------------

MAIN_SUBSCRIPTIONS: list[Subscription] = [
    # Who may touch which congress; the congress facts uploads are checked against and the
    # rendered PDFs are drawn from; a published version's status.
    Subscription(SERVICE_STREAMS["congress"], handlers={**access.handlers(), **when_congress_changes.handlers()},
                 purpose="main"),
    # The approval workflow: review, rejection, cancellation, completion (the signed revision).
    Subscription(SERVICE_STREAMS["signing"], handlers=when_signing_progresses.handlers(), purpose="main"),
]

# -- archive: sealed records (documents/handlers/archive.py) ----------------------------------
# A consumer of its own, so that a close waits on nobody: it only queues the record job.

ARCHIVE_SUBSCRIPTIONS: list[Subscription] = [
    Subscription(SERVICE_STREAMS["congress"], handlers=archive.handlers(), purpose="archive"),
    Subscription(SERVICE_STREAMS["signing"], handlers=archive.seal_handlers(), purpose="archive"),
]

SUBSCRIPTIONS: list[Subscription] = [*RECORD_SUBSCRIPTIONS, *MAIN_SUBSCRIPTIONS, *ARCHIVE_SUBSCRIPTIONS]

READ_MODELS: dict[str, list[Table]] = {
    "main": [access.users, access.staff, congresses, agendas, agenda_items, delegates, checkins, publications,
             signatures],
}
