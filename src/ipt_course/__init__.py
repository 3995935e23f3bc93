"""Training and simulation courseware for lay caregivers delivering group Interpersonal Psychotherapy."""

from __future__ import annotations

__version__ = "0.1.0"
