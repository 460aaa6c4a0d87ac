"""Avatar renderer: MaskParams -> frame (ModernGL, headless EGL)."""

from .appearance import NEUTRAL_APPEARANCE, Appearance
from .renderer import AvatarRenderer

__all__ = ["AvatarRenderer", "Appearance", "NEUTRAL_APPEARANCE"]
