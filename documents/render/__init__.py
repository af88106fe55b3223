"""PDFs the documents service draws from what it has consumed: pure functions, data in, bytes out.

Every string is NFC-normalised and checked against the font before anything is drawn: a
character the font lacks raises `runtime.pdf.MissingGlyphs` instead of becoming a box.
"""

from documents.render.agenda import render_agenda
from documents.render.attendance import render_attendance
from documents.render.data import AgendaLine, CongressSheet, DelegateLine, DocumentLine, SignatureLine
from documents.render.minutes import render_minutes

__all__ = [
    "AgendaLine", "CongressSheet", "DelegateLine", "DocumentLine", "SignatureLine",
    "render_agenda", "render_attendance", "render_minutes",
]
