"""Numbers as people read them, and text from users, links and files shown exactly as it is."""

from __future__ import annotations

import re
import string


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


_ESCAPED = frozenset(string.punctuation)  # CommonMark: any ASCII punctuation may be backslash-escaped
_JOINER = "\u2060"  # WORD JOINER: invisible, no line break
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def plain(text: object) -> str:
    """Text from a user, a link or a file, made safe to place in anything Streamlit renders as Markdown
    (st.markdown, st.warning/error/info, captions, headers, metric and link labels, st.table cells):
    it reads exactly as typed, and never becomes a link, an image, emphasis, HTML or a Streamlit
    directive such as :red[...] or $math$.

    Escaping every ASCII punctuation character stops all Markdown syntax. GitHub-style autolinks
    (``https://...``, ``www.x.y``, ``a@b.c``) are different: they are found in the text after the
    escapes are gone, so an invisible word joiner after ':' and '@' and before '.' breaks them up.
    Control characters, newlines included, become one space: a value stays on its line.
    """
    out = []
    for ch in _CONTROL.sub(" ", str(text)):
        if ch == ".":
            out.append(_JOINER + "\\.")
        elif ch in _ESCAPED:
            out.append("\\" + ch + (_JOINER if ch in ":@" else ""))
        else:
            out.append(ch)
    return "".join(out)


def say(template: str, *values: object) -> str:
    """A message of the page's own words with untrusted values filled in: ``{}`` in ``template`` is
    replaced by each value made plain, so only the page's own text can carry Markdown."""
    return template.format(*(plain(v) for v in values))
