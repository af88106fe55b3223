"""The attendance sheet: every registered delegate, whether and when they checked in, room to sign."""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from documents.render.data import CongressSheet, DelegateLine
from documents.render.layout import Styles, TextCheck, local_time, para, render, table
from runtime.pdf import FONT


def attendance_summary(congress: CongressSheet, delegates: Sequence[DelegateLine]) -> tuple[int, int, bool]:
    registered = len(delegates)
    present = sum(1 for d in delegates if d.checked_in_at is not None)
    return registered, present, registered > 0 and present / registered >= congress.quorum


def render_attendance(congress: CongressSheet, delegates: Sequence[DelegateLine], *, font: str = FONT,
                      check_glyphs: bool = True) -> bytes:
    def build(styles: Styles, text: TextCheck) -> list[Flowable]:
        registered, present, reached = attendance_summary(congress, delegates)
        story: list[Flowable] = [
            para(text("DANH SÁCH ĐẠI BIỂU DỰ ĐẠI HỘI"), styles.title),
            para(text(congress.title), styles.subtitle),
            Spacer(1, 3 * mm),
            para(text(f"Tổng số đại biểu: {registered}. Có mặt: {present}. "
                      f"{'Đủ' if reached else 'Chưa đủ'} số đại biểu theo quy định ({congress.quorum:.0%})."),
                 styles.body),
            Spacer(1, 3 * mm),
        ]
        rows: list[list] = [[para(text(h), styles.cell) for h in
                             ("STT", "Họ và tên", "Đơn vị", "Loại đại biểu", "Điểm danh", "Ký tên")]]
        for number, delegate in enumerate(delegates, start=1):
            rows.append([
                para(str(number), styles.cell),
                para(text(delegate.full_name), styles.cell),
                para(text(delegate.unit), styles.cell),
                para(text(delegate.delegate_type), styles.cell),
                para(text(local_time(delegate.checked_in_at, with_date=False) if delegate.checked_in_at
                          else "Vắng"), styles.cell),
                "",
            ])
        story.append(table(rows, [11 * mm, 46 * mm, 42 * mm, 27 * mm, 22 * mm, 26 * mm]))
        return story

    return render(f"Danh sách đại biểu — {congress.title}", congress.title, font, check_glyphs, build)
