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


def milestone_metric(column, threshold: str, m: dict | None, ended: bool = False) -> None:
    """A metric: the epoch a test-accuracy bar was first reached, with the training time below it."""
    missing = "not reached" if ended else "not yet"
    column.metric(f"Reached {threshold}", missing if not m else f"epoch {m['epoch']}",
                  delta=None if not m else f"after {secs(m['train_seconds'])} of training",
                  delta_color="off", delta_arrow="off",
                  help=f"The first epoch with test accuracy at or above {threshold}, and the training "
                       f"seconds until then (evaluation not counted).")


_MD_SPECIAL = "\\`*_{}[]()#+-.!|<>~$:"


def plain(text: str) -> str:
    """User-typed text made safe to place inside Markdown: shown as typed, never as markup or HTML."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in str(text))
