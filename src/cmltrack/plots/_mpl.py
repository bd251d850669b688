"""Figures without pyplot: a bare ``Figure`` renders through Agg, holds no global state and
needs no closing, so thousands of report figures do not leak memory or touch a display."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmltrack.errors import InputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Grey-print friendly styles: every series differs by marker and line style, not by colour alone.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")
GREYS = ("0.0", "0.35", "0.55", "0.7")

#: File extensions a figure can be written as.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def new_axes(figsize: tuple[float, float] = (7.0, 4.5), dpi: float = 100) -> Axes:
    """One Axes on a fresh Agg figure (matplotlib is imported here, lazily)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    return fig.add_subplot()


def figure_of(ax: Axes) -> Figure:
    fig = ax.get_figure(root=True)
    assert fig is not None
    return fig


def figure_bytes(fig: Figure, fmt: str = "png", dpi: float | None = None) -> bytes:
    """The figure rendered to PNG/SVG/PDF bytes."""
    buf = io.BytesIO()
    kwargs: dict[str, Any] = {"format": fmt}
    if dpi is not None:
        kwargs["dpi"] = dpi
    if fmt == "svg":
        # Fixed hash salt and no date: the same figure gives the same SVG bytes.
        kwargs["metadata"] = {"Date": None}
    fig.savefig(buf, **kwargs)
    return buf.getvalue()


def save_figure(fig: Figure, path: Path, dpi: float | None = None) -> None:
    """Write ``fig`` to ``path`` (.png, .svg or .pdf) atomically."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"cannot write {path.name!r}: the extension must be one of {', '.join(FORMATS)}",
            code="bad_argument",
            field="--out",
        )
    data = figure_bytes(fig, fmt, dpi)
    write_bytes_atomic(path, data)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write beside the target, then rename: a reader never sees half a file."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(name, 0o644)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def render_rgba(fig: Figure, dpi: float) -> Any:
    """Draw ``fig`` once with Agg and return its pixels (an RGBA uint8 array)."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # type: ignore[no-untyped-call]
    return np.asarray(canvas.buffer_rgba()).copy()  # type: ignore[no-untyped-call]


def png_bytes(rgba: Any) -> bytes:
    """PNG of an RGBA array, compressed quickly (report charts are written by the thousand)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").convert("RGB").save(buf, "PNG", compress_level=3)
    return buf.getvalue()


def reset_axes(ax: Axes) -> Axes:
    """Remove what was drawn on ``ax`` but keep the Axes, its ticks and scales.

    Drawing many charts on one reused Axes skips building a new figure, axis and tick objects
    for each (most of the cost of a fresh small chart).
    """
    for artist in [*ax.lines, *ax.patches, *ax.texts, *ax.collections, *ax.images]:
        artist.remove()
    if ax.legend_ is not None:
        ax.legend_.remove()
    fig = figure_of(ax)
    for legend in list(fig.legends):
        legend.remove()
    ax.set_title("")
    return ax
