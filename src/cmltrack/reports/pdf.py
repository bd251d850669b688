"""PDF pages with matplotlib alone: A4 text pages (with a picture on the first) and figures.

Text pages use the PDF core fonts (Helvetica, Courier): nothing is embedded, so a thousand
small patient PDFs are quick to write and small; text is folded to the Latin-1 range those
fonts cover.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cmltrack import DISCLAIMER, __version__

if TYPE_CHECKING:
    from matplotlib.backends.backend_pdf import PdfPages

A4 = (8.27, 11.69)
PT = 72.0
FONT_PT = 7.5
LINE_IN = FONT_PT * 1.25 / PT  # line pitch of the monospaced body, inches
BODY_TOP = 0.895  # figure fraction where the body starts
BODY_BOTTOM = 0.05
WIDTH = 110  # characters of 7.5 pt Courier across an A4 page with margins
#: One core font for everything: each font a PDF uses costs a parse of its metrics file.
CORE_FONTS: dict[str, Any] = {
    "pdf.use14corefonts": True,
    "font.family": "monospace",
    "font.monospace": ["Courier"],
    "font.weight": "medium",  # Courier's own weight: no fallback warning from the font lookup
}


_PLAIN = str.maketrans({"≤": "<=", "≥": ">=", "≠": "!=", "→": "->", "−": "-", "≈": "~"})


def latin(text: str) -> str:
    """Text the core fonts can show: signs spelt in ASCII, anything else outside cp1252 '?'."""
    return text.translate(_PLAIN).encode("cp1252", "replace").decode("cp1252")


def wrap(lines: Sequence[str], width: int = WIDTH) -> list[str]:
    """Hard-wrap long lines, indenting the continuation so tables stay readable."""
    out: list[str] = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
        else:
            out += textwrap.wrap(line, width, subsequent_indent="    ") or [""]
    return out


def _lines_per_page() -> int:
    return int((BODY_TOP - BODY_BOTTOM) * A4[1] / LINE_IN)


def text_pages(
    pdf: PdfPages,
    title: str,
    lines: Sequence[str],
    *,
    generated: str,
    image: Any = None,
) -> int:
    """Write ``lines`` as A4 pages headed by the title and the disclaimer; returns pages.

    ``image`` (an RGBA array drawn at 72 dpi, as wide as the text) goes on top of page one.
    """
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    body = [latin(x) for x in wrap(lines)]
    per_page = _lines_per_page()
    image_lines = 0
    if image is not None:
        image_lines = math.ceil((image.shape[0] / PT + 0.1) / LINE_IN)
    chunks: list[list[str]] = []
    first = per_page - image_lines
    chunks.append(body[:first])
    rest = body[first:]
    chunks += [rest[i : i + per_page] for i in range(0, len(rest), per_page)]
    with rc_context(CORE_FONTS):  # type: ignore[arg-type]
        for n, chunk in enumerate(chunks, 1):
            fig = Figure(figsize=A4, dpi=PT)
            fig.text(0.06, 0.965, latin(title), fontsize=12, va="top")
            fig.text(0.06, 0.94, "\n".join(textwrap.wrap(DISCLAIMER, 100)), fontsize=7.5,
                     va="top",
                     bbox={"boxstyle": "square,pad=0.4", "fc": "#fff3cd", "ec": "black",
                           "lw": 1.5})
            top = BODY_TOP
            if n == 1 and image is not None:
                height = image.shape[0]
                y0 = int(BODY_TOP * A4[1] * PT) - height
                fig.add_artist(_picture(image, int(0.06 * A4[0] * PT), y0))
                top = BODY_TOP - image_lines * LINE_IN / A4[1]
            if chunk:
                fig.add_artist(_body(chunk, 0.06 * A4[0] * PT, top * A4[1] * PT))
            fig.text(0.06, 0.02, f"cmltrack {__version__}, generated {generated}", fontsize=7)
            fig.text(0.94, 0.02, f"page {n}/{len(chunks)}", fontsize=7, ha="right")
            pdf.savefig(fig)  # type: ignore[no-untyped-call]
    return len(chunks)


def _picture(rgba: Any, x: float, y: float) -> Any:
    """An RGBA image (first row on top) placed pixel for point with its lower left corner at
    (``x``, ``y``) points, handed straight to the renderer (a figure image would be resampled
    first). Renderers take the bottom row first, hence the flip."""
    from matplotlib.artist import Artist

    class _Picture(Artist):
        def draw(self, renderer: Any) -> None:
            gc = renderer.new_gc()
            scale = renderer.points_to_pixels(1.0)
            renderer.draw_image(gc, x * scale, y * scale, rgba[::-1])
            gc.restore()

    return _Picture()


def _body(lines: Sequence[str], x: float, top: float) -> Any:
    """The body text as one artist: each line on a fixed pitch (a multi-line Text spaces
    lines by their glyphs' heights, unevenly), handed straight to the renderer: in a
    monospaced core font there is nothing to lay out, and layout is most of the cost of a
    page of text. ``x`` and ``top`` are in points from the page's lower left corner.
    """
    from matplotlib.artist import Artist
    from matplotlib.font_manager import FontProperties

    class _Lines(Artist):
        def draw(self, renderer: Any) -> None:
            gc = renderer.new_gc()
            gc.set_foreground("black")
            prop = FontProperties(family="monospace", size=FONT_PT)
            scale = renderer.points_to_pixels(1.0)
            pitch = LINE_IN * PT
            height = renderer.get_canvas_width_height()[1]
            for i, line in enumerate(lines):
                if line:
                    y = (top - (i + 1) * pitch) * scale  # the baseline, from the bottom
                    if renderer.flipy():  # raster renderers count from the top
                        y = height - y
                    renderer.draw_text(gc, x * scale, y, line, prop, 0.0)
            gc.restore()

    return _Lines()


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """Rows as fixed-width text columns (None as '-')."""
    cells = [[str(h) for h in headers]] + [
        ["-" if c is None else str(c) for c in row] for row in rows
    ]
    if len(cells) == 1:
        return ["  (none)"]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    # The last column (often a reason) is left free to wrap.
    fmt = [
        "  ".join(c.ljust(widths[i]) if i < len(headers) - 1 else c for i, c in enumerate(r))
        for r in cells
    ]
    return [fmt[0], "-" * min(len(fmt[0]), WIDTH), *fmt[1:]]
