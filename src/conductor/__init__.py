"""Engagement Conductor: keeps live event sessions engaging, in real time."""

__version__ = "0.1.0"
