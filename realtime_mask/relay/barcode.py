"""BENCHMARK-ONLY frame-number barcode (never enabled in normal serving).

The latency benchmark stamps each camera frame's sequence number into its top-left
corner; the relay (with `--bench-stamp`) reads that number and draws it into the
avatar frame it sends. Only the number crosses, not a pixel of the input. Blocks are
16x16 px so they survive VP8 at webcam bitrates; 16 data bits are followed by their
complement, so a damaged code reads as None rather than a wrong number.
"""

from __future__ import annotations

import numpy as np

BITS = 16
BLOCK = 16
WIDTH = 2 * BITS * BLOCK          # 512 px: fits a 640-wide frame
HEIGHT = BLOCK
DARK, LIGHT = 16, 235             # video-range luma


def _bits(n: int) -> np.ndarray:
    n &= (1 << BITS) - 1
    data = [(n >> i) & 1 for i in range(BITS)]
    return np.array(data + [1 - b for b in data], np.uint8)


def stamp_luma(luma: np.ndarray, n: int) -> None:
    """Draw number n into a 2-D luma plane (in place)."""
    for i, b in enumerate(_bits(n)):
        luma[:HEIGHT, i * BLOCK:(i + 1) * BLOCK] = LIGHT if b else DARK


def stamp_yuv420p(yuv: np.ndarray, n: int) -> None:
    """Draw into stacked I420 planes (H*3/2, W) in place; chroma set neutral."""
    h = yuv.shape[0] * 2 // 3
    stamp_luma(yuv[:h], n)
    # Each stacked U/V row holds two chroma rows, so HEIGHT/4 rows cover the
    # code's HEIGHT/2 chroma rows (full width: simpler, and harmless for a bench).
    for plane_start in (h, h + h // 4):
        yuv[plane_start:plane_start + HEIGHT // 4] = 128


def read_luma(luma: np.ndarray) -> int | None:
    """The stamped number, or None when no valid code is there."""
    if luma.shape[0] < HEIGHT or luma.shape[1] < WIDTH:
        return None
    cells = luma[4:HEIGHT - 4, :WIDTH].astype(np.float32)
    means = cells.reshape(HEIGHT - 8, 2 * BITS, BLOCK)[:, :, 4:BLOCK - 4].mean(axis=(0, 2))
    bits = (means > (DARK + LIGHT) / 2).astype(np.uint8)
    if not np.all(bits[:BITS] + bits[BITS:] == 1):
        return None
    return int(sum(int(b) << i for i, b in enumerate(bits[:BITS])))
