"""Numbers as people read them."""

from __future__ import annotations


def pct(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f}%"


def secs(x: float | None) -> str:
    if x is None:
        return "—"
    if x < 10:
        return f"{x:.2f} s"
    if x < 120:
        return f"{x:.0f} s"
    return f"{x / 60:.1f} min"


def milestone(m: dict | None) -> str:
    """'epoch 8 · 4.4 s' or 'not reached'."""
    return "not reached" if not m else f"epoch {m['epoch']} · {secs(m['train_seconds'])}"


_MD_SPECIAL = "\\`*_{}[]()#+-.!|<>~$:"


def plain(text: str) -> str:
    """User-typed text made safe to place inside Markdown: shown as typed, never as markup or HTML."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in str(text))
