"""PDF from the report's own HTML, laid out by WeasyPrint: the PDF has the page's layout,
its tables (in a smaller print type, columns wrapped to the page) and its charts at full width.

One HTML template serves screen and print (``reports.html.CSS``: its ``@page`` and ``@media
print`` rules put the decision-support notice and the page number on every PDF page).
WeasyPrint (the ``pdf`` extra) is imported on first use only; its font set-up is made once per
process and shared by every document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cmltrack.errors import CmltrackError

_FONTS: list[Any] = []


def html_to_pdf(html: str, path: Path, title: str) -> None:
    """Write ``html`` (a self-contained page) as a PDF to ``path``."""
    try:
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration
    except ImportError as exc:  # pragma: no cover - the pdf extra is part of dev
        raise CmltrackError(
            "PDF reports need WeasyPrint: pip install 'cmltrack[pdf]' (or use --no-pdf)"
        ) from exc
    if not _FONTS:
        _FONTS.append(FontConfiguration())
    doc = weasyprint.HTML(string=html, base_url=None).render(font_config=_FONTS[0])
    doc.metadata.title = title
    doc.write_pdf(path)
