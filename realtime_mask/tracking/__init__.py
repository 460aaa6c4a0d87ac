"""Camera frame -> face landmarks. Knows nothing of ICT or of anything downstream.

`Landmarks` is the one data type handed on; `Tracker` is the interface any
backend (MediaPipe on CPU today, an ONNX Runtime GPU backend later) provides.
"""

from .landmarks import (LEFT_EYE_CONTOUR, LEFT_IRIS, RIGHT_EYE_CONTOUR, RIGHT_IRIS,
                        Landmarks, Tracker)
from .mediapipe_tracker import MediaPipeTracker

__all__ = ["Landmarks", "Tracker", "MediaPipeTracker", "LEFT_IRIS", "RIGHT_IRIS",
           "LEFT_EYE_CONTOUR", "RIGHT_EYE_CONTOUR"]
