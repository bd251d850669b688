"""Imports every sub-command module so that each registers itself on the app."""

from cmltrack.cli import stats  # noqa: F401
