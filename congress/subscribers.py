"""Every event the congress service consumes, and the handler each one goes to."""

import contracts.congress
import contracts.documents
import contracts.signing
from congress.handlers.audit import store_audit_record
from congress.handlers import closing, desk_directory, document_events
from contracts.streams import SERVICE_STREAMS
from runtime.inbox import Subscription

# The audit trail of every service, gathered here (one durable consumer per stream, purpose "audit").
AUDIT_SUBSCRIPTIONS = [
    Subscription(SERVICE_STREAMS[service], {events.AuditRecorded: store_audit_record}, purpose="audit")
    for service, events in (("congress", contracts.congress), ("documents", contracts.documents),
                            ("signing", contracts.signing))
]

# What may be published (approved versions) and what is signed (shown on the scan page).
PUBLISHING_SUBSCRIPTIONS = [
    Subscription(SERVICE_STREAMS["documents"], {
        contracts.documents.DocumentUploaded: document_events.record_document_uploaded,
        contracts.documents.DocumentApproved: document_events.record_document_approved,
    }, purpose="publishing"),
    Subscription(SERVICE_STREAMS["signing"], {
        contracts.signing.RequestSigned: document_events.record_signature,
        contracts.signing.RequestCompleted: document_events.record_signing_completed,
    }, purpose="publishing"),
]

# Which signature requests are open (a congress closes only when none is), and the desk's
# folded-name search column, kept from the service's own roster events.
DAY_SUBSCRIPTIONS = [
    Subscription(SERVICE_STREAMS["signing"], {
        contracts.signing.RequestCreated: closing.when_request_created,
        contracts.signing.RequestCompleted: closing.when_request_completed,
        contracts.signing.RequestRejected: closing.when_request_rejected,
        contracts.signing.RequestCancelled: closing.when_request_cancelled,
    }, purpose="closing"),
    Subscription(SERVICE_STREAMS["congress"], {
        contracts.congress.DelegateRegistered: desk_directory.when_delegate_registered_or_updated,
        contracts.congress.DelegateUpdated: desk_directory.when_delegate_registered_or_updated,
        contracts.congress.DelegateRemoved: desk_directory.when_delegate_removed,
    }, purpose="desk"),
]

SUBSCRIPTIONS: list[Subscription] = [*AUDIT_SUBSCRIPTIONS, *PUBLISHING_SUBSCRIPTIONS, *DAY_SUBSCRIPTIONS]
