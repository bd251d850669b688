"""Reports: one self-contained HTML page (and a PDF) for the cohort and for each patient.

Every report says it is decision support, not a medical device (``cmltrack.DISCLAIMER``).
"""

from __future__ import annotations

from cmltrack.reports.build import ReportResult, write_reports

__all__ = ["ReportResult", "write_reports"]
