"""`realtime-mask mask` on real files, as a user runs it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from realtime_mask.media import probe_video, read_image, read_video
from realtime_mask.params import read_jsonl


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "realtime_mask", *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def test_video_keeps_frame_count_and_rate(videos_dir, tmp_path):
    src = videos_dir / "grid_bbaf2n.mpg"
    out, params = tmp_path / "out.mp4", tmp_path / "p.jsonl"
    r = run_cli("mask", src, "-o", out, "--params", params, "--size", "320x240")
    assert r.returncode == 0, r.stderr
    n_in = sum(1 for _ in read_video(src))
    assert sum(1 for _ in read_video(out)) == n_in == len(list(read_jsonl(params)))
    assert probe_video(out).frame_rate == probe_video(src).frame_rate
    assert (probe_video(out).width, probe_video(out).height) == (320, 240)
    assert "without a face" in r.stderr


def test_image_is_masked(faces_dir, tmp_path):
    src = sorted((faces_dir / "fr_obama").glob("*.jpg"))[0]
    out = tmp_path / "masked.png"
    r = run_cli("mask", src, "-o", out, "--params", tmp_path / "p.jsonl")
    assert r.returncode == 0, r.stderr
    img = read_image(out)
    assert img.shape == (480, 640, 3)
    (p,) = read_jsonl(tmp_path / "p.jsonl")
    assert p.face_present


def test_unreadable_and_empty_inputs_exit_2(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    for src, out in ((junk, "o.mp4"), (empty, "o.png"), (tmp_path / "missing.mov", "o.mp4")):
        r = run_cli("mask", src, "-o", tmp_path / out)
        assert r.returncode == 2, (src, r.stderr)
        assert "error" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "not a readable" in r.stderr or "no such file" in r.stderr, r.stderr
    r = run_cli("mask", junk, "-o", tmp_path / "o.mp4", "--size", "abc")
    assert r.returncode == 2 and "--size" in r.stderr


def test_outputs_that_would_overwrite_or_cannot_be_written_are_refused_first(faces_dir, tmp_path):
    """Checked before any work: the input survives an output or --params
    naming it, and a missing folder or a width the renderer cannot draw is
    one error line, not a traceback after the masking."""
    src = tmp_path / "face.jpg"     # a copy: a failing check must not hurt the shared data
    src.write_bytes(sorted((faces_dir / "fr_obama").glob("*.jpg"))[0].read_bytes())
    original = src.read_bytes()
    cases = [
        (["-o", tmp_path / "out.png", "--params", src], "is an input"),
        (["-o", tmp_path / "out.png", "--params", tmp_path / "out.png"], "is another output"),
        (["-o", tmp_path / "missing" / "out.png"], "does not exist"),
        (["-o", tmp_path / "out.png", "--params", tmp_path / "missing" / "p.jsonl"],
         "does not exist"),
        (["-o", tmp_path], "is a folder"),
        (["-o", tmp_path / "out.png", "--size", "102x100"], "multiple of 4"),
    ]
    for args, message in cases:
        r = run_cli("mask", src, *args)
        assert r.returncode == 2, (args, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, r.stderr)
    assert src.read_bytes() == original
    assert not (tmp_path / "out.png").exists()


def test_video_writer_says_which_file_it_cannot_write(tmp_path):
    """PyAV opens an output file only with its first packet, frames after the
    writer was made: that failure is a MediaError naming the file."""
    from fractions import Fraction

    import numpy as np

    from realtime_mask.media import MediaError, VideoWriter

    path = tmp_path / "gone" / "out.mp4"
    writer = VideoWriter(path, 64, 48, Fraction(30))
    with pytest.raises(MediaError, match="out.mp4: cannot write"):
        for _ in range(60):
            writer.write_yuv420(np.zeros((72, 64), np.uint8))
        writer.close()


@pytest.mark.parametrize("rotation", [90, -90])
def test_a_phone_video_is_masked_upright(faces_dir, tmp_path, rotation):
    """Phones store portrait video as landscape frames with a display
    rotation. Read as stored, the patient lay on her side: the avatar was
    drawn sideways and the read-out reported a 90 degree head tilt."""
    import av
    import cv2
    import numpy as np

    from realtime_mask.media import read_video

    face = cv2.imread(str(sorted((faces_dir / "fr_obama").glob("*.jpg"))[0]))
    portrait = cv2.resize(face, (360, 480))[..., ::-1]            # RGB, upright
    turn = cv2.ROTATE_90_CLOCKWISE if rotation == 90 else cv2.ROTATE_90_COUNTERCLOCKWISE
    stored = np.ascontiguousarray(cv2.rotate(portrait, turn))     # what the phone stores
    src = tmp_path / "phone.mp4"
    with av.open(str(src), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 480, 360, "yuv420p"
        s.set_display_rotation(rotation)
        for i in range(6):
            f = av.VideoFrame.from_ndarray(stored, format="rgb24")
            f.pts = i
            c.mux(s.encode(f))
        c.mux(s.encode())
    frames = [rgb for rgb, _ in read_video(src)]
    assert len(frames) == 6 and frames[0].shape == (480, 360, 3)
    assert np.abs(frames[0].astype(int) - portrait).mean() < 8      # upright, not turned
    params = tmp_path / "p.jsonl"
    r = run_cli("mask", src, "-o", tmp_path / "out.mp4", "--params", params)
    assert r.returncode == 0, r.stderr
    rolls = [p.head.roll_deg for p in read_jsonl(params) if p.face_present]
    assert len(rolls) == 6 and max(abs(x) for x in rolls) < 20, rolls


def test_rgb_from_frame_matches_swscale_for_camera_frames(videos_dir):
    """The relay's cheap yuv420p -> RGB conversion agrees with swscale's to
    about a grey level of rounding, and other pixel formats or full-range
    frames take swscale's conversion."""
    import av
    import numpy as np

    from realtime_mask.media import rgb_from_frame

    with av.open(str(videos_dir / "pyfeat_WolfgangLanger_Pexels.mp4")) as c:
        frame = next(iter(c.decode(video=0)))
    assert frame.format.name == "yuv420p"
    ref = frame.to_ndarray(format="rgb24").astype(int)
    got = rgb_from_frame(frame)
    assert got.shape == ref.shape and got.dtype == np.uint8
    diff = np.abs(got.astype(int) - ref)
    assert diff.mean() < 2.0 and np.percentile(diff, 99) <= 4
    rgb_frame = frame.reformat(format="rgb24")
    assert np.array_equal(rgb_from_frame(rgb_frame), rgb_frame.to_ndarray())
    full = frame.reformat(format="yuv420p")
    full.color_range = 2
    assert np.array_equal(rgb_from_frame(full), full.to_ndarray(format="rgb24"))
