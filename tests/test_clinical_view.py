"""web/clinical-view.js in real headless chromium: plots draw, move and read out the signs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from realtime_mask.synth import PatientScript, script_patient

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "clinical"
ORIGIN = "http://clinical.test"
PAGE = """<!doctype html><html><body style="margin:0;background:#fff">
<div id="view" style="width:640px"></div>
<script type="module">
import { createClinicalView } from "./clinical-view.js";
window.view = createClinicalView(document.getElementById("view"));
window.feed = (frames) => { for (const f of frames) window.view.update(f); };
window.ready = true;
</script></body></html>"""
RIGHT_RGB = (0xD6, 0x27, 0x28)
LEFT_RGB = (0x1F, 0x77, 0xB4)


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 700, "height": 520})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    def serve(route):
        name = route.request.url.removeprefix(ORIGIN + "/")
        if name == "index.html":
            route.fulfill(body=PAGE, content_type="text/html")
        elif name == "clinical-view.js":
            route.fulfill(path=str(REPO / "web" / "clinical-view.js"),
                          content_type="text/javascript")
        else:
            route.fulfill(status=404, body="")

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/index.html")
    page.wait_for_function("window.ready === true")
    yield page
    page.close()
    assert errors == []


def keep_screenshot(page, name: str) -> None:
    """Save a screenshot where a person can look at it after the run (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))
    print(f"screenshot: {ARTIFACTS / name}")


def frames_of(**script) -> list[dict]:
    return [p.to_dict() for p in script_patient(PatientScript(**script)).frames]


def canvas_pixels(page, index: int, path: Path) -> np.ndarray:
    import cv2
    page.locator("canvas").nth(index).screenshot(path=str(path))
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def colour(png: np.ndarray, rgb, tol: int = 40) -> np.ndarray:
    return np.all(np.abs(png.astype(int) - np.array(rgb)) <= tol, axis=-1)


def feed(page, frames: list[dict]) -> None:
    """Feed frames, then wait until the view has drawn and read out the last one."""
    page.evaluate("(f) => window.feed(f)", frames)
    last = frames[-1]["timestamp"]
    page.wait_for_function(
        "(t) => { const d = document.getElementById('view').dataset;"
        " return Math.abs(Number(d.drawnT) - t) < 1e-6 && d.readoutT === d.drawnT; }",
        arg=last, timeout=10_000)


def test_view_quotes_the_reflex_spread_when_the_deviation_is_anchored(page):
    from realtime_mask.clinical.gaze import ANCHORED_SPREAD_DEG, DEVIATION_SPREAD_DEG

    frames = frames_of(sign="esotropia", deviation_deg=10.0, deviating_eye="right", duration_s=4.0)
    for f in frames:
        f["reflex_anchored"] = True
    feed(page, frames)
    h, v = round(ANCHORED_SPREAD_DEG["horizontal"]), round(DEVIATION_SPREAD_DEG["vertical"])
    assert page.locator(".cv-deviation").inner_text().endswith(
        f"(±{h}° / ±{v}° between faces, corneal reflexes)")


def test_view_says_when_mrd1_rests_on_the_lid_margin(page):
    frames = frames_of(sign="ptosis", ptosis_side="left", ptosis_mrd1_mm=1.0, duration_s=3.0)
    for f in frames:
        f["left_eye"]["lid_anchored"] = True
    feed(page, frames)
    right, left = page.locator(".cv-lids").inner_text().split(" · ")
    assert left.endswith("mm (lid margin)") and not right.endswith("(lid margin)")


def test_view_draws_both_eyes_and_reads_out_esotropia(page, tmp_path):
    frames = frames_of(sign="esotropia", deviation_deg=10.0, deviating_eye="right", duration_s=6.0)
    feed(page, frames)
    text = page.locator(".cv-deviation").inner_text()
    assert "10.0° (17.6 Δ) eso" in text and text.endswith("(±5° / ±2° between faces)")
    assert page.locator(".cv-nystagmus").inner_text() == "Nystagmus: none"
    assert page.locator(".cv-lids").inner_text().startswith("Lids: R MRD1 4.4 / MRD2 5.6 mm")
    # the vertical plot warns that held up/downgaze reads small (benchmarks/gaze_gain.py)
    assert "reads at about 0.6–0.8 of its size" in page.locator(".cv-plot-title").nth(1).inner_text()
    # ... and the lid plot that MRD1 reads low (fidelity.py, real_normals.py)
    assert "MRD1 reads low: confirm lid signs" in page.locator(".cv-plot-title").nth(2).inner_text()
    png = canvas_pixels(page, 0, tmp_path / "horizontal.png")
    red, blue = colour(png, RIGHT_RGB), colour(png, LEFT_RGB)
    assert red.sum() > 200 and blue.sum() > 200
    # The right eye is 10 degrees towards +yaw: drawn above the left eye's line.
    assert np.median(np.nonzero(red)[0]) < np.median(np.nonzero(blue)[0]) - 20
    # The 6 s of data fill the right 60% of the 10 s window, nothing on the far left.
    cols = np.flatnonzero((red | blue).any(axis=0))
    assert cols.min() > 0.3 * png.shape[1]
    keep_screenshot(page, "clinical-view-esotropia.png")


def test_view_scrolls_and_reads_out_nystagmus(page, tmp_path):
    frames = frames_of(sign="nystagmus", nystagmus_hz=3.0, nystagmus_amplitude_deg=3.0,
                       duration_s=12.0)
    feed(page, frames[:150])
    first = canvas_pixels(page, 0, tmp_path / "first.png")
    feed(page, frames[150:])
    second = canvas_pixels(page, 0, tmp_path / "second.png")
    keep_screenshot(page, "clinical-view-nystagmus.png")
    text = page.locator(".cv-nystagmus").inner_text()
    assert text.startswith("Nystagmus: horizontal, 3.0 Hz"), text
    amplitude = float(text.split(",")[2].split("°")[0])
    assert amplitude == pytest.approx(3.0, rel=0.2)
    # The plot moved on: the drawn line differs, and 12 s of data fill the whole width.
    line1, line2 = colour(first, LEFT_RGB), colour(second, LEFT_RGB)
    assert (line1 != line2).sum() > 200
    cols = np.flatnonzero(line2.any(axis=0))
    assert cols.min() < 0.1 * second.shape[1]
    # The oscillation spreads the line over many rows.
    assert np.ptp(np.flatnonzero(line2.any(axis=1))) > 20


def test_view_does_not_call_eyes_moving_with_the_head_nystagmus(page):
    """The same 1.5 Hz eye oscillation reads as nystagmus with a still head,
    and not when the head nods against it (the eyes compensating the head)."""
    frames = frames_of(sign="nystagmus", nystagmus_hz=1.5, nystagmus_amplitude_deg=3.0,
                       duration_s=6.0)
    feed(page, frames)
    assert page.locator(".cv-nystagmus").inner_text().startswith("Nystagmus: horizontal, 1.5 Hz")
    page.evaluate("() => window.view.reset()")
    for f in frames:
        f["head"]["yaw_deg"] = -0.8 * (f["right_eye"]["yaw_deg"] + f["left_eye"]["yaw_deg"]) / 2
    feed(page, frames)
    assert page.locator(".cv-nystagmus").inner_text() == \
        "Nystagmus: none (the eyes move with the head)"


@pytest.mark.parametrize("seconds", [10.0, 7.5])
def test_view_does_not_call_incoherent_eye_oscillations_nystagmus(page, seconds):
    """Each eye rings at 1.4 Hz with a phase that jumps every 1.2 s, the two
    independently (read-out jitter): not nystagmus. The same trace in both eyes is.
    (The view judges coherence over its 10 s; over 5 s chance coherence is high.
    7.5 s, 225 frames: a session's first seconds, where the window used to
    round up to one frame more than half, and the check was skipped.)"""
    from test_clinical_measure import bursts   # the same jitter the measurement test uses

    frames = frames_of(sign="normal", duration_s=seconds, blinks=False)
    right, left = (bursts(len(frames), 1.4, 3.0, seed, every_s=1.2) for seed in (1, 2))
    for f, r, l in zip(frames, right, left):
        f["right_eye"]["yaw_deg"], f["left_eye"]["yaw_deg"] = float(r), float(l)
    feed(page, frames)
    assert page.locator(".cv-nystagmus").inner_text() == \
        "Nystagmus: none (the eyes do not oscillate together)"
    page.evaluate("() => window.view.reset()")
    for f, r in zip(frames, right):
        f["left_eye"]["yaw_deg"] = float(r)
    feed(page, frames)
    # (the phase jumps spread the peak: it reads 1.4-1.6 Hz)
    assert page.locator(".cv-nystagmus").inner_text().startswith("Nystagmus: horizontal, 1.")


@pytest.mark.parametrize("hz,readout", [
    (1.3, "Nystagmus: none (fewer than two beats per fixation)"),
    (4.0, "Nystagmus: horizontal, 4.0 Hz")])
def test_view_does_not_call_a_beat_as_slow_as_the_refixations_nystagmus(page, hz, readout):
    """Both eyes move to a new gaze position every 0.9 s and beat together: at
    1.3 Hz the beat fits 1.2 times into a fixation (the nine-gaze control's
    false "nystagmus"), at 4 Hz 3.6 times."""
    from test_clinical_measure import FPS, looking_around, sinus

    frames = frames_of(sign="normal", duration_s=8.0, blinks=False)
    assert abs(frames[1]["timestamp"] - frames[0]["timestamp"] - 1 / FPS) < 1e-6
    yaw, pitch = looking_around(len(frames))
    beat = sinus(len(frames), hz, 2.0)
    for f, y, p, b in zip(frames, yaw, pitch, beat):
        for side in ("right_eye", "left_eye"):
            f[side]["yaw_deg"], f[side]["pitch_deg"] = float(y + b), float(p)
    feed(page, frames)
    assert page.locator(".cv-nystagmus").inner_text().startswith(readout)


def test_view_does_not_take_a_large_jerk_nystagmus_for_refixations(page):
    """An 8-degree, 3 Hz jerk nystagmus: its fast phases are gaze shifts by
    size, but the slow phase takes the eyes back each beat: nystagmus."""
    from test_clinical_measure import jerk_wave

    frames = frames_of(sign="normal", duration_s=8.0, blinks=False)
    for f, y in zip(frames, jerk_wave(len(frames), 3.0, 8.0)):
        for side in ("right_eye", "left_eye"):
            f[side]["yaw_deg"], f[side]["pitch_deg"] = float(y), 0.0
    feed(page, frames)
    assert page.locator(".cv-nystagmus").inner_text().startswith("Nystagmus: horizontal, 3.0 Hz")


def test_view_lids_show_ptosis_and_reset_clears(page, tmp_path):
    feed(page, frames_of(sign="ptosis", ptosis_side="left", ptosis_mrd1_mm=1.0, duration_s=4.0))
    assert "L MRD1 1.0 / MRD2 5.6 mm" in page.locator(".cv-lids").inner_text()
    lids = canvas_pixels(page, 2, tmp_path / "lids.png")
    assert colour(lids, RIGHT_RGB).sum() > 100 and colour(lids, LEFT_RGB).sum() > 100
    page.evaluate("window.view.reset()")
    page.wait_for_function("document.getElementById('view').dataset.drawnT === ''")
    cleared = canvas_pixels(page, 0, tmp_path / "cleared.png")
    assert colour(cleared, RIGHT_RGB).sum() == 0 and colour(cleared, LEFT_RGB).sum() == 0
    assert page.locator(".cv-deviation").inner_text() == "Deviation: —"


def test_view_survives_bad_frames_lost_face_and_a_restarted_stream(page, tmp_path):
    frames = frames_of(sign="normal", duration_s=3.0)
    for f in frames[30:60]:
        f["face_present"] = False
    page.evaluate("() => { window.view.update(null); window.view.update({}); "
                  "window.view.update({timestamp: 'x'}); }")
    feed(page, frames)
    assert "no face" not in page.locator(".cv-face").inner_text().lower()
    feed(page, [dict(frames[0], timestamp=0.0, face_present=False)])  # time went back: new stream
    assert page.locator(".cv-face").inner_text() == "No face in view"
    png = canvas_pixels(page, 0, tmp_path / "restarted.png")
    assert colour(png, LEFT_RGB).sum() == 0  # the old stream's line is gone
    json.dumps(frames)  # the frames were plain JSON


def test_view_shows_a_covered_eye_as_covered_not_measured(page, tmp_path):
    """Cover test: while a hand covers the right eye its values are the last
    seen ones. The view must say so and draw no trace for that eye."""
    # a right esotropia keeps the two traces apart
    frames = frames_of(sign="esotropia", deviation_deg=10.0, deviating_eye="right",
                       duration_s=4.0, fixation_noise_deg=0.0)
    for f in frames[60:]:
        f["right_eye"]["covered"] = True
        f["right_eye"]["yaw_deg"] = 25.0       # whatever it holds is not drawn
    feed(page, frames)
    assert page.locator(".cv-face").inner_text() == "Covered: right eye (no measurement)"
    png = canvas_pixels(page, 0, tmp_path / "covered.png")
    keep_screenshot(page, "covered_right_eye.png")
    # the right trace stops where the cover starts (2 s of a 10 s plot before
    # the end); the left one runs on
    width = png.shape[1]
    right_cols = np.flatnonzero(colour(png, RIGHT_RGB).any(axis=0))
    left_cols = np.flatnonzero(colour(png, LEFT_RGB).any(axis=0))
    assert right_cols.size and left_cols.size
    assert left_cols.max() - right_cols.max() > 0.12 * width
    feed(page, [dict(frames[-1], timestamp=4.1, right_eye=dict(frames[0]["right_eye"]))])
    assert page.locator(".cv-face").inner_text() == ""
