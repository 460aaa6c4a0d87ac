"""What the clinical measurements read on people without any eye sign.

Synthetic normal people (random ICT faces, eyes straight, half of them also
looking through the nine gaze positions) go through the masker; their
MaskParams are measured as a doctor's report would measure them. The spread of
the inter-eye deviation over faces is the absolute-deviation uncertainty the
report and the doctor view quote (clinical/gaze.py, DEVIATION_SPREAD_DEG), and
the share of faces with a reported sign is the false-positive rate of the
signs at the report's thresholds. Seeds 300.. are not used by fidelity.py.

Usage: python benchmarks/normal_spread.py [--faces 24] [--duration 8]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit  # noqa: E402

FIRST_SEED = 300
STRABISMUS = ("esotropia", "exotropia", "hypertropia")


def measure_face(model, seed: int, duration: float) -> dict:
    from realtime_mask.clinical import ParamsTrack, summarize
    from realtime_mask.pipeline import FrameMasker
    from realtime_mask.synth import PatientScript, script_patient
    from realtime_mask.synth.render import PatientRenderer
    from realtime_mask.synth.score import score

    gaze_positions = seed % 2 == 0
    patient = script_patient(PatientScript(seed=seed, duration_s=duration, sign="normal",
                                           gaze_positions=gaze_positions))
    with PatientRenderer(model, seed) as person, FrameMasker(model=model) as masker:
        patient = person.realised(patient)      # the truth is what the clip shows
        params = [masker.process(rgb, t, output="rgb24").params
                  for rgb, t in person.frames(patient)]
    track = ParamsTrack.from_params(params)
    scored = score(patient, track, summarize(track))
    return {"seed": seed, "gaze_positions": gaze_positions,
            "horizontal_deg": scored["deviation"]["measured_h_deg"],
            "vertical_deg": scored["deviation"]["measured_v_deg"],
            "mrd1_error_mm": {s: scored["mrd1"][s]["error_mm"] for s in ("right", "left")},
            "signs": scored["signs_reported"]}


def spread(values: list[float]) -> dict:
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], float)
    return {"sd": round(float(v.std()), 2), "median_abs": round(float(np.median(abs(v))), 2),
            "p90_abs": round(float(np.percentile(abs(v), 90)), 2),
            "max_abs": round(float(abs(v).max()), 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=int, default=24)
    ap.add_argument("--duration", type=float, default=8.0, help="seconds per face")
    args = ap.parse_args()
    from realtime_mask.face_model.assets import load_face_model

    model = load_face_model()
    faces = []
    for seed in range(FIRST_SEED, FIRST_SEED + args.faces):
        faces.append(measure_face(model, seed, args.duration))
        print(f"{seed}: H {faces[-1]['horizontal_deg']}° V {faces[-1]['vertical_deg']}° "
              f"{faces[-1]['signs']}", file=sys.stderr)
    mrd1 = [e for f in faces for e in f["mrd1_error_mm"].values()]
    emit("normal_spread", {
        "faces": len(faces), "duration_s": args.duration,
        "deviation_deg": {"horizontal": spread([f["horizontal_deg"] for f in faces]),
                          "vertical": spread([f["vertical_deg"] for f in faces])},
        "mrd1_error_mm": spread(mrd1),
        "faces_with_a_strabismus_sign": sum(any(s in f["signs"] for s in STRABISMUS)
                                            for f in faces),
        "faces_with_any_sign": sum(bool(f["signs"]) for f in faces),
        "per_face": faces})
    return 0


if __name__ == "__main__":
    sys.exit(main())
