"""The report from the parameter track of a real clip masked by the real pipeline."""

from __future__ import annotations

import itertools

import numpy as np

from realtime_mask.cli import main
from realtime_mask.clinical import ParamsTrack, gaze_traces
from realtime_mask.params import write_jsonl


def test_report_from_a_real_masked_clip(videos_dir, tmp_path):
    from realtime_mask.media import read_video
    from realtime_mask.pipeline import FrameMasker

    clip = videos_dir / "liveportrait_d0.mp4"  # strong left/right gaze shifts
    with FrameMasker() as masker:
        params = [masker.process(rgb, t).params
                  for rgb, t in itertools.islice(read_video(clip), 45)]
    path = tmp_path / "real.jsonl"
    write_jsonl(path, params)
    track = ParamsTrack.from_params(params)
    g = gaze_traces(track)
    assert track.present.mean() > 0.9
    # The person looks from one side to the other: both eyes' horizontal gaze
    # sweeps many degrees, the same way.
    both = np.isfinite(g.right_yaw) & np.isfinite(g.left_yaw)
    assert np.ptp(g.right_yaw[both]) > 15 and np.ptp(g.left_yaw[both]) > 15
    assert np.corrcoef(g.right_yaw[both], g.left_yaw[both])[0, 1] > 0.8
    out = tmp_path / "real.html"
    assert main(["report", str(path), "-o", str(out)]) == 0
    html = out.read_text()
    assert html.count('<svg class="plot"') == 5 and "id='measurements'" in html
