"""A small SVG bar chart of check-ins over time, drawn on the server (no script, no CDN)."""

from __future__ import annotations

from html import escape

from congress.domain.attendance import ChartBar
from congress.pages.templating import local_time

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 220, 40, 30, 12


def checkins_chart(bars: list[ChartBar], title: str, empty_text: str) -> str:
    """Bars = check-ins per interval (local time on the axis), the line = the running total."""
    label = escape(title)
    if not bars:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} 60" role="img" aria-label="{label}">'
                f'<text x="{WIDTH // 2}" y="35" text-anchor="middle" font-size="16" fill="#555">'
                f'{escape(empty_text)}</text></svg>')
    top = max(b.count for b in bars)
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - BOTTOM - TOP
    step = plot_w / len(bars)
    total = bars[-1].cumulative or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}"'
             f' class="chart"><title>{label}</title>',
             f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 10}" y2="{TOP + plot_h}" stroke="#999"/>',
             f'<text x="{LEFT - 6}" y="{TOP + 10}" text-anchor="end" font-size="12" fill="#555">{top}</text>',
             f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="12" fill="#555">0</text>']
    points = []
    label_every = max(1, len(bars) // 6)
    for i, bar in enumerate(bars):
        h = plot_h * bar.count / top if top else 0
        x = LEFT + i * step
        parts.append(f'<rect x="{x + 2:.1f}" y="{TOP + plot_h - h:.1f}" width="{max(step - 4, 1):.1f}" '
                     f'height="{h:.1f}" fill="#0b5cad"><title>{local_time(bar.start, "%H:%M")}: {bar.count}'
                     f'</title></rect>')
        points.append(f"{x + step / 2:.1f},{TOP + plot_h - plot_h * bar.cumulative / total:.1f}")
        if i % label_every == 0:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{HEIGHT - 10}" text-anchor="middle" font-size="12" '
                         f'fill="#555">{local_time(bar.start, "%H:%M")}</text>')
    parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#c2410c" stroke-width="2"/>')
    parts.append("</svg>")
    return "".join(parts)
