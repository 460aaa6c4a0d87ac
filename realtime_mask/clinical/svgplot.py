"""Small inline-SVG time plots for the offline report (no scripts, no network)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import numpy as np

MAX_POINTS = 1500  # per line; longer traces are decimated for a light page


@dataclass
class Series:
    label: str
    y: np.ndarray
    color: str


def _nice_range(values: list[np.ndarray], minimum_span: float) -> tuple[float, float]:
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.array([])
    if finite.size == 0:
        return -minimum_span / 2, minimum_span / 2
    lo, hi = float(finite.min()), float(finite.max())
    mid, span = (lo + hi) / 2, max(hi - lo, minimum_span) * 1.15
    return mid - span / 2, mid + span / 2


def _runs(ok: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], ok, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2], edges[1::2]))


def time_plot(t: np.ndarray, series: list[Series], *, title: str, unit: str,
              minimum_span: float = 4.0, spans: list[tuple[float, float]] = (),
              width: int = 900, height: int = 184) -> str:
    """An SVG line plot; NaN samples break the line (lost face, closed eye)."""
    left, right, top, bottom = 52, 12, 36, 24  # the legend sits above the plot
    pw, ph = width - left - right, height - top - bottom
    t0, t1 = (float(t[0]), float(t[-1])) if len(t) > 1 else (0.0, 1.0)
    t1 = t1 if t1 > t0 else t0 + 1.0
    y0, y1 = _nice_range([s.y for s in series], minimum_span)

    def sx(v):
        return left + (np.asarray(v) - t0) / (t1 - t0) * pw

    def sy(v):
        return top + (1 - (np.asarray(v) - y0) / (y1 - y0)) * ph

    parts = [f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}">',
             f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fbfbfb" stroke="#bbb"/>',
             f'<text x="{left}" y="15" font-size="13" font-weight="bold">{escape(title)}</text>']
    for s0, s1 in spans:
        a, b = sx(max(s0, t0)), sx(min(s1, t1))
        parts.append(f'<rect x="{a:.1f}" y="{top}" width="{max(b - a, 1):.1f}" height="{ph}" '
                     f'fill="#e8e0ff"/>')
    for v in np.linspace(y0, y1, 5):
        y = sy(v)
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
                     f'{v:.1f}</text>')
    if y0 < 0 < y1:
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(0):.1f}" y2="{sy(0):.1f}" '
                     f'stroke="#999"/>')
    for v in np.linspace(t0, t1, 7):
        parts.append(f'<text x="{sx(v):.1f}" y="{height - 8}" font-size="10" '
                     f'text-anchor="middle">{v:.1f}s</text>')
    parts.append(f'<text x="12" y="{top + ph / 2:.0f}" font-size="10" '
                 f'transform="rotate(-90 12 {top + ph / 2:.0f})" text-anchor="middle">'
                 f'{escape(unit)}</text>')
    step = max(1, int(np.ceil(len(t) / MAX_POINTS)))
    for k, s in enumerate(series):
        tt, yy = np.asarray(t)[::step], np.asarray(s.y, float)[::step]
        for a, b in _runs(np.isfinite(yy)):
            pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(sx(tt[a:b]), sy(yy[a:b])))
            if b - a == 1:
                pts += f" {sx(tt[a]) + 1:.1f},{sy(yy[a]):.1f}"
            parts.append(f'<polyline fill="none" stroke="{s.color}" stroke-width="1.6" '
                         f'points="{pts}"/>')
        lx = left + 170 * k
        ly = 30
        parts.append(f'<line x1="{lx}" x2="{lx + 18}" y1="{ly - 4}" y2="{ly - 4}" '
                     f'stroke="{s.color}" stroke-width="3"/><text x="{lx + 22}" y="{ly}" '
                     f'font-size="11">{escape(s.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
