"""Text that is safe to print: control characters, ANSI escapes and bidirectional overrides made
visible instead of obeyed.

A patient id or free-text field holding ``"\\x1b[31m"`` or U+202E (right-to-left override) would
otherwise recolour a terminal or reverse the order of what a clinician reads. The records refuse
such ids (:func:`unsafe_character`); everything cmltrack writes to a terminal still goes
through :func:`terminal_safe`, as HTML goes through ``html.escape``.
"""

from __future__ import annotations

import unicodedata

#: Unicode categories that are not shown but act: controls (C0/C1, ESC), format characters
#: (bidi embeddings, overrides and isolates, zero-width joiners), line/paragraph separators,
#: unassigned and private-use code points.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def unsafe_character(text: str) -> str | None:
    """A description of the first character of ``text`` that a terminal or browser would obey
    rather than show (``"U+001B (ESC, a control character)"``), or None."""
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in _HIDDEN:
            name = unicodedata.name(ch, "")
            kind = {
                "Cc": "a control character",
                "Cf": "a bidirectional or invisible formatting character",
                "Zl": "a line separator",
                "Zp": "a paragraph separator",
            }.get(cat, "not a printable character")
            label = f"{name}, {kind}" if name else kind
            return f"U+{ord(ch):04X} ({label})"
    return None


def terminal_safe(text: str, *, keep_newlines: bool = True) -> str:
    """``text`` with every hidden character written as a visible escape (``\\x1b``, ``\\u202e``);
    newlines (and tabs) are kept when ``keep_newlines``."""
    if text.isprintable():
        return text
    out: list[str] = []
    for ch in text:
        if (keep_newlines and ch in "\n\t") or unicodedata.category(ch) not in _HIDDEN:
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else
                       f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)
