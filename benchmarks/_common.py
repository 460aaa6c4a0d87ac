"""Helpers shared by the benchmark programs: result saving and percentiles."""

from __future__ import annotations

import json
import os
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


def cpu_model() -> str:
    """The CPU's model name and its wide vector units, so that runs on the
    shared hosts can be told apart (timings, and the kernels MediaPipe's
    XNNPACK picks, depend on them)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []

    def field(key: str) -> str:          # the first CPU's, as "key : value"
        return next((line.split(":", 1)[1].strip() for line in lines
                     if line.startswith(key)), "")

    flags = field("flags").split()
    vectors = [f for f in ("avx2", "avx512f", "amx_tile") if f in flags]
    name = field("model name") or platform.processor() or "unknown"
    return f"{name} ({', '.join(vectors) or 'no avx2'})"


def emit(name: str, result: dict) -> Path:
    """Print the JSON result and save it under benchmarks/results/."""
    result = {"benchmark": name, "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "machine": {"cpu_count": os.cpu_count(), "cpu": cpu_model(),
                          "platform": platform.platform()},
              **result}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    text = json.dumps(result, indent=2)
    path.write_text(text + "\n")
    print(text)
    return path
