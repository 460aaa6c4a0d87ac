"""`realtime-mask report`: the HTML report from a parameter track, checked in headless chromium."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from realtime_mask.cli import main
from realtime_mask.params import write_jsonl
from realtime_mask.synth import PatientScript, script_patient

RIGHT_RGB = (0xD6, 0x27, 0x28)
LEFT_RGB = (0x1F, 0x77, 0xB4)


def colour_pixels(png: np.ndarray, rgb: tuple[int, int, int], tol: int = 30) -> np.ndarray:
    return np.all(np.abs(png[..., :3].astype(int) - np.array(rgb)) <= tol, axis=-1)


def read_png(path: Path) -> np.ndarray:
    import cv2
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def make_track(tmp_path: Path, right_eye_offset_deg: float = 0.0, **script) -> Path:
    patient = script_patient(PatientScript(**script))
    for p in patient.frames:  # a second sign on top of the scripted one
        p.right_eye.yaw_deg += right_eye_offset_deg
    path = tmp_path / "params.jsonl"
    write_jsonl(path, patient.frames)
    return path


def test_report_command_writes_findings_and_json(tmp_path, capsys):
    params = make_track(tmp_path, sign="esotropia", deviation_deg=10.0, gaze_positions=True)
    out, js = tmp_path / "report.html", tmp_path / "report.json"
    assert main(["report", str(params), "-o", str(out), "--json", str(js)]) == 0
    html = out.read_text()
    assert "esotropia" in html and "17.6 Δ" in html
    assert "(±5° between faces)" in html and "(±2° between faces)" in html
    prose = " ".join(html.split())      # line breaks in the HTML source are spaces
    assert "MRD2 is indicative only" in prose and "confirm a ptosis finding" in prose
    assert "(lid margin)" not in html.split("<h2>Measurements</h2>")[1].split("</table>")[0]
    assert "confirm a limited up- or downgaze" in html
    # All nine positions visited, each with the 10 degree eso deviation.
    positions = html.split("id='positions'")[1].split("</table>")[0]
    assert positions.count("H +10.0°") == 9 and "not visited" not in positions
    # Self-contained: no script, no external resource.
    assert "<script" not in html and not re.search(r'(src|href)="https?:', html)
    import json
    d = json.loads(js.read_text())
    assert d["deviation"]["horizontal_deg"] == pytest.approx(10.0, abs=0.1)
    assert [f["sign"] for f in d["findings"]] == ["esotropia"]
    assert "esotropia" in capsys.readouterr().err


def test_report_says_which_mrd1_rests_on_the_lid_margin(tmp_path):
    patient = script_patient(PatientScript(sign="ptosis", ptosis_side="left", ptosis_mrd1_mm=1.0))
    for p in patient.frames:
        p.left_eye.lid_anchored = True
    params, out = tmp_path / "params.jsonl", tmp_path / "report.html"
    write_jsonl(params, patient.frames)
    assert main(["report", str(params), "-o", str(out)]) == 0
    table = out.read_text().split("<h2>Measurements</h2>")[1].split("</table>")[0]
    left = table.split("Left MRD1 / MRD2")[1].split("</tr>")[0]
    right = table.split("Right MRD1 / MRD2")[1].split("</tr>")[0]
    assert "mm (lid margin)" in left and "lid margin" not in right


@pytest.mark.parametrize("content,message", [
    (None, "no such file"),
    ("not json\n", "bad MaskParams line"),
    ('{"version": 99, "timestamp": 0}\n', "unsupported MaskParams version"),
    ("", "no MaskParams lines"),
])
def test_report_bad_input_is_one_clear_error(tmp_path, capsys, content, message):
    path = tmp_path / "in.jsonl"
    if content is not None:
        path.write_text(content)
    assert main(["report", str(path), "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "r.html").exists()


def test_report_never_overwrites_its_track_and_checks_the_folder_first(tmp_path, capsys):
    params = make_track(tmp_path, sign="normal")
    track = params.read_bytes()
    for argv, message in [
        (["-o", str(tmp_path / "r.html"), "--json", str(params)], "is an input"),
        (["-o", str(tmp_path / "no" / "r.html")], "does not exist"),
    ]:
        assert main(["report", str(params), *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0]
    assert params.read_bytes() == track
    assert not (tmp_path / "r.html").exists()


def test_report_plots_render_in_chromium(tmp_path, browser):
    params = make_track(tmp_path, right_eye_offset_deg=8.0, sign="nystagmus",
                        nystagmus_hz=3.0, nystagmus_amplitude_deg=4.0)
    out = tmp_path / "report.html"
    assert main(["report", str(params), "-o", str(out)]) == 0
    page = browser.new_page(viewport={"width": 1000, "height": 1400})
    page.goto(out.as_uri())
    findings = page.locator("#findings").inner_text()
    assert "esotropia: 8.0°" in findings and "nystagmus: horizontal pendular, 3.0 Hz" in findings
    boxes = [page.locator("svg.plot").nth(i).bounding_box() for i in range(5)]
    artifacts = Path(__file__).resolve().parents[1] / "test-artifacts" / "clinical"
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "report.png"  # kept for a person to look at (git-ignored)
    print(f"screenshot: {shot}")
    page.screenshot(path=str(shot), full_page=True)
    page.close()
    png = read_png(shot)

    def region(box):
        x, y, w, h = (int(round(v)) for v in (box["x"], box["y"], box["width"], box["height"]))
        return png[y + 36:y + h - 24, x + 52:x + w - 12]  # the plot area, without legend and axes

    # Horizontal gaze plot: both eyes' lines are drawn, they oscillate (each
    # covers many rows; a flat line covers two or three) and the right eye's
    # line lies above the left one's (8 degrees more towards +yaw).
    gaze = region(boxes[0])
    red, blue = colour_pixels(gaze, RIGHT_RGB), colour_pixels(gaze, LEFT_RGB)
    assert red.sum() > 500 and blue.sum() > 500
    red_rows, blue_rows = np.flatnonzero(red.any(axis=1)), np.flatnonzero(blue.any(axis=1))
    assert np.ptp(red_rows) > 15 and np.ptp(blue_rows) > 15
    assert np.median(np.nonzero(red)[0]) < np.median(np.nonzero(blue)[0]) - 20
    # Vertical gaze plot: the eyes are steady there, so the lines stay in a thin band.
    vertical = colour_pixels(region(boxes[1]), LEFT_RGB)
    rows = np.flatnonzero(vertical.any(axis=1))
    assert vertical.sum() > 300 and np.ptp(rows) < np.ptp(np.flatnonzero(red.any(axis=1)))


def test_report_of_a_track_without_any_face(tmp_path):
    from realtime_mask.params import MaskParams
    path = tmp_path / "noface.jsonl"
    write_jsonl(path, [MaskParams.no_face(i / 30) for i in range(60)])
    out, js = tmp_path / "r.html", tmp_path / "r.json"
    assert main(["report", str(path), "-o", str(out), "--json", str(js)]) == 0
    html = out.read_text()
    assert "face in\n0," in html and "No sign above the reporting thresholds" in html
    # no deviation measured: no spread quoted next to the dash
    table = html.split("id='measurements'")[1].split("</table>")[0]
    assert "—° / — Δ" in table and "between faces" not in table
    import json
    d = json.loads(js.read_text())
    assert d["face_frames"] == 0 and d["deviation"]["horizontal_deg"] is None


def test_report_says_when_an_eye_oscillation_moved_with_the_head(tmp_path):
    patient = script_patient(PatientScript(sign="nystagmus", nystagmus_hz=1.5,
                                           nystagmus_amplitude_deg=3.0, duration_s=8.0))
    for p in patient.frames:  # the head nods against the eyes
        p.head.yaw_deg = -0.8 * (p.right_eye.yaw_deg + p.left_eye.yaw_deg) / 2
    path = tmp_path / "params.jsonl"
    write_jsonl(path, patient.frames)
    out = tmp_path / "r.html"
    assert main(["report", str(path), "-o", str(out)]) == 0
    table = out.read_text().split("id='measurements'")[1].split("</table>")[0]
    assert "none (an eye oscillation moved with the head)" in table
