"""Clinical measurements from a MaskParams stream (no video needed).

summarize(stream) -> ClinicalSummary with per-eye lid levels (MRD1/MRD2 in mm),
blinks, inter-eye deviation (degrees and prism dioptres), nystagmus and the
signs they show. gaze_traces(track) gives the per-eye gaze plots.
"""

from .gaze import (Deviation, GazeTraces, PositionDeviation, deviation_by_position, deviation_series,
                   gaze_traces, measure_deviation)
from .lids import Blink, EyeLids, LidReport, measure_lids
from .nystagmus import Nystagmus, measure_nystagmus
from .summary import ClinicalSummary, Finding, Thresholds, find_signs, summarize
from .track import EyeTrack, ParamsTrack
from .units import IRIS_RADIUS_MM, prism_dioptres, radii_to_mm

__all__ = [
    "Blink", "ClinicalSummary", "Deviation", "EyeLids", "EyeTrack", "Finding", "GazeTraces",
    "IRIS_RADIUS_MM", "LidReport", "Nystagmus", "ParamsTrack", "PositionDeviation", "Thresholds",
    "deviation_by_position",
    "deviation_series", "find_signs", "gaze_traces", "measure_deviation", "measure_lids",
    "measure_nystagmus", "prism_dioptres", "radii_to_mm", "summarize",
]
