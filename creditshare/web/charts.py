"""Server-drawn SVG for the console's pages (no script on any page)."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

WIDTH, HEIGHT, PAD = 560, 180, 36


def history_svg(history: list[dict[str, Any]]) -> str | None:
    """A subject's score history (ScoreUpdated events) as a line chart; None when there is nothing to draw."""
    points = [(int(h["as_of"] or 0), int(h["score"])) for h in history if h.get("score") is not None]
    if not points:
        return None
    lo, hi = min(s for _, s in points), max(s for _, s in points)
    lo, hi = lo - 10, hi + 10
    n = len(points)

    def x(i: int) -> float:
        return PAD + (WIDTH - 2 * PAD) * (i / (n - 1) if n > 1 else 0.5)

    def y(score: int) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * (score - lo) / (hi - lo)

    line = " ".join(f"{x(i):.1f},{y(s):.1f}" for i, (_, s) in enumerate(points))
    dots = "".join(
        f'<circle cx="{x(i):.1f}" cy="{y(s):.1f}" r="3"><title>{escape(iso_day(t))}: {s}</title></circle>'
        for i, (t, s) in enumerate(points)
    )
    labels = "".join(
        f'<text x="{x(i):.1f}" y="{HEIGHT - 12}" text-anchor="middle">{escape(iso_day(t))}</text>'
        for i, (t, _) in enumerate(points)
        if n <= 8 or i in (0, n - 1)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="chart" role="img" '
        f'aria-label="score history">'
        f'<text x="4" y="{y(hi - 10):.1f}">{hi - 10}</text><text x="4" y="{y(lo + 10):.1f}">{lo + 10}</text>'
        f'<polyline fill="none" stroke="currentColor" stroke-width="2" points="{line}"/>{dots}{labels}</svg>'
    )


def iso_day(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).date().isoformat() if seconds else "-"
