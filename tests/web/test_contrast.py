"""WCAG 2.1 AA contrast of the stylesheet's text colours (4.5:1 for normal text), computed by
the WCAG formula from the colours the stylesheet declares."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[2] / "src/cmltrack/web/static/cmltrack.css").read_text()
VARS = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", CSS))


def luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_formula_on_known_pairs() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic miss


def colour(name: str) -> str:
    return VARS[name[2:]] if name.startswith("--") else name


# (text, background) as the stylesheet pairs them.
PAIRS = [
    ("--ink", "#ffffff"), ("--muted", "#ffffff"), ("--link", "#ffffff"),
    ("#ffffff", "--failure"), ("--ink", "--warning"), ("--ink", "--suboptimal"),
    ("#ffffff", "--optimal"), ("--ink", "--neutral"), ("--ink", "--pending"),
    ("#ffffff", "--gone"), ("#ffffff", "#12324f"), ("#e6eef5", "#12324f"),
    ("#ffffff", "#6a1b9a"), ("--ink", "#fff4d6"), ("#6d0016", "#fde8ea"),
    ("--muted", "--bg-soft"), ("--failure", "#ffffff"),
    ("#262626", "#fcbba1"), ("#262626", "#fee8a0"), ("#262626", "#d9f0d3"),
]


@pytest.mark.parametrize(("text", "background"), PAIRS)
def test_text_meets_aa(text: str, background: str) -> None:
    assert contrast(colour(text), colour(background)) >= 4.5
