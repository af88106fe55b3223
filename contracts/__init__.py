"""The events every service publishes (one module per producer), their subjects and the streams.

Nothing else lives here: no behaviour, no I/O. See contracts/README.md for the wire format.
"""

from contracts.base import Event, event_class_for, subject_of

__all__ = ["Event", "event_class_for", "subject_of"]
