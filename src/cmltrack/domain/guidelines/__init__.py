"""Guideline engines: ELN milestones, events and status (``assess_eln``), protocols, labels, TFR."""

from cmltrack.domain.guidelines.eln import GuidelineResult, assess_eln

__all__ = ["GuidelineResult", "assess_eln"]
