"""The clinic in the browser: worklist, patient page with the BCR::ABL1 chart, cohort page.

Server-rendered pages (Jinja2) with a little JavaScript (d3, vendored) for the charts, mounted
by ``cmltrack serve`` at ``/``. The pages read the same assessments as the REST API and the CLI
(:mod:`cmltrack.web.views` turns them into what a page shows); they never re-derive a clinical
judgement. Everything a page needs ships in the package: no CDN, no web font.

Decision support for clinicians and researchers, not a medical device.
"""

from __future__ import annotations

from typing import Any


def install(app: Any, services: Any) -> None:
    """Mount the pages on the service's FastAPI app (``create_app`` calls this)."""
    from cmltrack.web.app import install as _install

    _install(app, services)
