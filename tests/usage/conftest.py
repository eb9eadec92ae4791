"""Fixtures shared by the usage tests (the sandbox CloudTrail organisation: trail_helpers.py)."""

from tests.usage.trail_helpers import trail_org  # noqa: F401 - a fixture
