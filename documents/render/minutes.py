"""The minutes draft: what the service knows when the secretary starts writing them.

The congress, attendance and quorum, the agenda with the documents of each item, their
approval and who signed them; the narrative sections are left for the secretary.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer, Table

from documents.render.attendance import attendance_summary
from documents.render.data import AgendaLine, CongressSheet, DelegateLine, DocumentLine
from documents.render.layout import Styles, TextCheck, local_time, para, render
from runtime.pdf import FONT

STATUS_WORDS = {
    "draft": "bản nháp", "in_review": "đang lấy chữ ký", "approved": "đã phê duyệt", "published": "đã công bố",
    "archived": "đã lưu trữ", "superseded": "đã thay bằng bản ký",
}
ROLE_WORDS = {"approver": "duyệt", "signer": "ký"}


def render_minutes(congress: CongressSheet, agenda: Sequence[AgendaLine], delegates: Sequence[DelegateLine],
                   documents: Sequence[DocumentLine], *, font: str = FONT, check_glyphs: bool = True) -> bytes:
    def document_lines(styles: Styles, text: TextCheck, docs: list[DocumentLine]) -> list[Flowable]:
        lines: list[Flowable] = []
        for doc in docs:
            via = " (thư ký phê duyệt trực tiếp)" if doc.approved_via == "secretary" else ""
            lines.append(para(text(f"– {doc.title}, phiên bản {doc.version}: "
                                   f"{STATUS_WORDS.get(doc.status, doc.status)}{via}."), styles.body))
            for sig in doc.signatures:
                lines.append(para(text(f"    {ROLE_WORDS.get(sig.role, sig.role).capitalize()}: {sig.full_name}, "
                                       f"{local_time(sig.signed_at)}"), styles.small))
        return lines

    def build(styles: Styles, text: TextCheck) -> list[Flowable]:
        registered, present, reached = attendance_summary(congress, delegates)
        story: list[Flowable] = []
        if congress.organisation:
            story.append(para(text(congress.organisation.upper()), styles.subtitle))
        story += [
            para(text("BIÊN BẢN (DỰ THẢO)"), styles.title),
            para(text(congress.title), styles.subtitle),
            Spacer(1, 5 * mm),
            para(text(f"Thời gian: {local_time(congress.starts_at) or '…'}"), styles.body),
            para(text(f"Địa điểm: {congress.venue or '…'}"), styles.body),
            para(text(f"Đại biểu: {present}/{registered} có mặt; "
                      f"{'đủ' if reached else 'chưa đủ'} số lượng theo quy định ({congress.quorum:.0%})."),
                 styles.body),
            para(text("Nội dung:"), styles.heading),
        ]
        by_item: dict[int | None, list[DocumentLine]] = {}
        for doc in documents:
            by_item.setdefault(doc.agenda_position, []).append(doc)
        for item in sorted(agenda, key=lambda i: i.position):
            story.append(para(text(f"{item.position}. {item.title}"), styles.heading))
            story += document_lines(styles, text, by_item.get(item.position, []))
            story.append(para(text("Diễn biến: …"), styles.body))
        if by_item.get(None):
            story.append(para(text("Tài liệu khác"), styles.heading))
            story += document_lines(styles, text, by_item[None])
        story += [
            Spacer(1, 12 * mm),
            Table([[para(text("THƯ KÝ"), styles.subtitle), para(text("CHỦ TỌA"), styles.subtitle)]],
                  colWidths=[87 * mm, 87 * mm]),
        ]
        return story

    return render(f"Biên bản — {congress.title}", congress.title, font, check_glyphs, build)
