"""Imports every sub-command module so that each registers itself on the app."""

from cmltrack.cli import assess, demo, endpoints, rules, stats  # noqa: F401
