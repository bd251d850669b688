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
