"""The agenda of a congress, as printed for the delegates."""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from documents.render.data import AgendaLine, CongressSheet
from documents.render.layout import Styles, TextCheck, local_time, para, render, table
from runtime.pdf import FONT


def render_agenda(congress: CongressSheet, items: Sequence[AgendaLine], *, font: str = FONT,
                  check_glyphs: bool = True) -> bytes:
    def build(styles: Styles, text: TextCheck) -> list[Flowable]:
        story: list[Flowable] = []
        if congress.organisation:
            story.append(para(text(congress.organisation.upper()), styles.subtitle))
        story.append(para(text("CHƯƠNG TRÌNH"), styles.title))
        story.append(para(text(congress.title), styles.title))
        where = ", ".join(filter(None, [text(congress.venue), text(local_time(congress.starts_at))]))
        if where:
            story.append(para(where, styles.subtitle))
        story.append(Spacer(1, 6 * mm))
        rows: list[list] = [[para(text("STT"), styles.cell), para(text("Nội dung"), styles.cell)]]
        for item in sorted(items, key=lambda i: i.position):
            content = text(item.title)
            if item.description:
                content += "\n" + text(item.description)
            rows.append([para(str(item.position), styles.cell), para(content, styles.cell)])
        story.append(table(rows, [14 * mm, 160 * mm]))
        return story

    return render(f"Chương trình — {congress.title}", congress.title, font, check_glyphs, build)
