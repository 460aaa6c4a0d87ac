"""Helpers shared by the benchmark programs: result saving and percentiles."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
RESULTS = REPO / "benchmarks" / "results"


def percentiles(values_ms) -> dict[str, float]:
    v = np.asarray(list(values_ms), float)
    if v.size == 0:
        return {"n": 0}
    return {"n": int(v.size), "p50": round(float(np.percentile(v, 50)), 3),
            "p95": round(float(np.percentile(v, 95)), 3), "mean": round(float(v.mean()), 3)}


def emit(name: str, result: dict) -> Path:
    """Print the JSON result and save it under benchmarks/results/."""
    result = {"benchmark": name, "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "machine": {"cpu_count": __import__("os").cpu_count(), "platform": platform.platform()},
              **result}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    text = json.dumps(result, indent=2)
    path.write_text(text + "\n")
    print(text)
    return path
