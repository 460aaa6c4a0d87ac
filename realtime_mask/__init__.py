"""realtime-mask: a live de-identifying face mask for telemedicine video."""

__version__ = "0.1.0"
