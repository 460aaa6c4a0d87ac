"""The offline clinical report: one self-contained HTML page from a MaskParams track.

No video is needed or stored: plots and the summary table come from the
parameter stream alone. Right eye red, left eye blue (the OD/OS convention).
"""

from __future__ import annotations

import math
from html import escape

import numpy as np

from .gaze import (ANCHORED_SPREAD_DEG, DEVIATION_SPREAD_DEG, POSITIONS, deviation_by_position,
                   deviation_series, deviation_spread_text, gaze_traces)
from .summary import ClinicalSummary, summarize
from .svgplot import Series, time_plot
from .track import ParamsTrack
from .units import radii_to_mm

RIGHT, LEFT = "#d62728", "#1f77b4"
STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:960px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:22px 0 6px}
table{border-collapse:collapse;margin:6px 0} td,th{border:1px solid #ccc;padding:4px 8px;
font-size:13px;text-align:left} th{background:#f3f3f3} .muted{color:#777;font-size:12px}
.sign{font-weight:bold;color:#a00} .ok{color:#070} svg{display:block;margin:6px 0}
"""


def _fmt(v, digits: int = 1, unit: str = "") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v:.{digits}f}{unit}"


def _summary_table(s: ClinicalSummary) -> str:
    d, lids, ny = s.deviation, s.lids, s.nystagmus
    def spread(axis: str, value: float) -> str:
        return f" ({deviation_spread_text(axis, d.anchored)})" if math.isfinite(value) else ""

    rows = [
        ("Horizontal deviation", f"{_fmt(abs(d.horizontal_deg))}° / {_fmt(abs(d.horizontal_pd))} Δ "
         f"{d.horizontal_name if math.isfinite(d.horizontal_deg) and abs(d.horizontal_deg) >= 0.05 else ''}"
         + spread("horizontal", d.horizontal_deg), d.confidence),
        ("Vertical deviation", f"{_fmt(abs(d.vertical_deg))}° / {_fmt(abs(d.vertical_pd))} Δ "
         f"{d.vertical_name if math.isfinite(d.vertical_deg) and abs(d.vertical_deg) >= 0.05 else ''}"
         + spread("vertical", d.vertical_deg), d.confidence),
    ]
    for side, eye in (("Right", lids.right), ("Left", lids.left)):
        rows.append((f"{side} MRD1 / MRD2", f"{_fmt(eye.mrd1_mm)} / {_fmt(eye.mrd2_mm)} mm"
                     + (" (lid margin)" if eye.anchored else ""), eye.confidence))
        rows.append((f"{side} palpebral fissure", _fmt(eye.fissure_mm, 1, " mm"), eye.confidence))
        rows.append((f"{side} MRD1 change in downgaze (lid lag)",
                     _fmt(eye.downgaze_mrd1_change_mm, 1, " mm"), eye.confidence))
    rows.append(("Blinks", f"{len(lids.blinks)} ({_fmt(lids.blink_rate_per_min)} /min)",
                 lids.blink_confidence))
    if ny.present:
        kind = f"{ny.direction} {ny.waveform}" + (f", fast phase {ny.fast_phase}" if ny.fast_phase else "")
        rows.append(("Nystagmus", f"{kind}; {_fmt(ny.frequency_hz, 2)} Hz, "
                     f"{_fmt(ny.amplitude_deg)}° peak-to-peak", ny.confidence))
    elif ny.head_coupled:
        rows.append(("Nystagmus", "none (an eye oscillation moved with the head)", ny.confidence))
    elif ny.eyes_incoherent:
        rows.append(("Nystagmus", "none (the two eyes' oscillations did not move together)",
                     ny.confidence))
    elif ny.between_refixations:
        rows.append(("Nystagmus", "none (fewer than two beats per fixation between gaze shifts)",
                     ny.confidence))
    else:
        rows.append(("Nystagmus", "none detected", ny.confidence))
    covered = [f"{side} {sec:.1f} s" for side, sec in s.covered_s.items() if sec > 0]
    if covered:
        rows.append(("Eye covered (cover test; not measured then)", ", ".join(covered), 1.0))
    body = "".join(f"<tr><td>{escape(a)}</td><td>{escape(b)}</td><td>{c:.2f}</td></tr>"
                   for a, b, c in rows)
    return ("<table id='measurements'><tr><th>Measurement</th><th>Value</th>"
            f"<th>Confidence</th></tr>{body}</table>")


def _positions_table(track: ParamsTrack) -> str:
    """Deviation per diagnostic gaze position, laid out as the doctor faces the
    patient: the patient's right on the left of the table."""
    found = {p.position: p for p in deviation_by_position(track)}
    if not found:
        return "<p class='muted'>No gaze position held long enough.</p>"
    cells = []
    for name, _, _ in POSITIONS:
        p = found.get(name)
        text = (f"<b>{escape(name)}</b><br>H {p.horizontal_deg:+.1f}° V {p.vertical_deg:+.1f}°"
                f"<br><span class='muted'>{p.frames} frames</span>" if p else
                f"<span class='muted'>{escape(name)}<br>not visited</span>")
        cells.append(f"<td>{text}</td>")
    rows = "".join("<tr>" + "".join(cells[i:i + 3]) + "</tr>" for i in range(0, 9, 3))
    return (f"<table id='positions'>{rows}</table><p class='muted'>H + = eso, − = exo; "
            "V + = right eye higher. Columns: the patient's right, centre, left.</p>")


def _findings(s: ClinicalSummary) -> str:
    if not s.findings:
        return "<p id='findings' class='ok'>No sign above the reporting thresholds.</p>"
    items = "".join(f"<li><span class='sign'>{escape(f.sign)}</span>: {escape(f.detail)} "
                    f"<span class='muted'>(confidence {f.confidence:.2f})</span></li>"
                    for f in s.findings)
    return f"<ul id='findings'>{items}</ul>"


def render_report(track: ParamsTrack, summary: ClinicalSummary | None = None,
                  title: str = "Eye-movement report") -> str:
    s = summary or summarize(track)
    g = gaze_traces(track)
    h_dev, v_dev = deviation_series(track)
    blinks = [(b.start, b.end) for b in s.lids.blinks]
    t = track.t if len(track) else np.zeros(1)

    def lid(side: str, which: str) -> np.ndarray:
        eye = track.eye(side)
        return radii_to_mm(eye.upper if which == "upper" else eye.lower)

    plots = []
    if len(track):
        plots = [
            time_plot(t, [Series("right eye", g.right_yaw, RIGHT), Series("left eye", g.left_yaw, LEFT)],
                      title="Horizontal gaze (+ = patient's left)", unit="degrees", spans=blinks),
            time_plot(t, [Series("right eye", g.right_pitch, RIGHT), Series("left eye", g.left_pitch, LEFT)],
                      title="Vertical gaze (+ = up)", unit="degrees", spans=blinks),
            time_plot(t, [Series("horizontal (+ eso)", h_dev, "#2ca02c"),
                          Series("vertical (+ right higher)", v_dev, "#9467bd")],
                      title="Inter-eye deviation", unit="degrees"),
            time_plot(t, [Series("right MRD1", lid("right", "upper"), RIGHT),
                          Series("left MRD1", lid("left", "upper"), LEFT),
                          Series("right MRD2", -lid("right", "lower"), "#ff9896"),
                          Series("left MRD2 (below 0)", -lid("left", "lower"), "#aec7e8")],
                      title="Lid margins from the iris centre (MRD1 up, MRD2 down)", unit="mm",
                      minimum_span=12.0, spans=blinks),
            time_plot(t, [Series("yaw", track.head_yaw, "#444"), Series("pitch", track.head_pitch, "#bcbd22"),
                          Series("roll", track.head_roll, "#17becf")],
                      title="Head posture", unit="degrees"),
        ]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>{STYLE}</style></head><body>
<h1>{escape(title)}</h1>
<p class="muted">From the de-identified parameter track only ({s.frames} frames, face in
{s.face_frames}, {s.duration_s:.1f} s). Lids in mm with an 11.7 mm iris diameter as the ruler;
prism dioptres = 100·tan(angle). Shaded bands are blinks.</p>
<h2>Findings</h2>{_findings(s)}
<h2>Measurements</h2>{_summary_table(s)}
<p class="muted">In people with straight eyes the absolute deviation reads off by about
±{DEVIATION_SPREAD_DEG['horizontal']:.0f}° horizontally and ±{DEVIATION_SPREAD_DEG['vertical']:.0f}°
vertically (1 sd between faces): each eyeball sits a little differently behind its lids. Where the
corneal reflexes of a light near the camera (the lit screen) show in both eyes, the horizontal
deviation is anchored to them, as in a Hirschberg test, and reads off by about
±{ANCHORED_SPREAD_DEG['horizontal']:.0f}° (the table says "corneal reflexes"): it is then the
deviation while the patient looks at the screen. The
offset stays the same all session, so changes (between gaze positions, nystagmus, saccades) are
measured without it, but smaller than they are: on rendered test faces a gaze held for a
second reads at about 0.75–0.95 of its size horizontally and 0.6–0.8 vertically, in these
numbers and in the avatar, so confirm a limited up- or downgaze by examination. Lids: where
the upper lid margin shows clearly in the eye's pixels, MRD1 is anchored to it (the table says
"lid margin"; on rendered test faces within a median 0.3 mm); lid movements (blinks, lid lag)
are followed at about 0.7 of their size. Marked lid retraction reads low (7 mm read 6.1–6.3
mm, 6.5 mm read 4.8–7.2 mm), near the 6 mm threshold: confirm or exclude lid retraction by
examination. The lower lid is hardly followed (MRD2 is indicative only). On camera video of people without known lid disease MRD1 has read low
(median 2.0 mm over 11 clips, where the margin seldom shows clearly enough to anchor it):
confirm a ptosis finding by examination.</p>
<h2>Deviation in the diagnostic gaze positions</h2>{_positions_table(track) if len(track) else ''}
<h2>Traces</h2>{''.join(plots) or '<p>No frames.</p>'}
</body></html>
"""
