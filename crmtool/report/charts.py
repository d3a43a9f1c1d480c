"""Inline SVG charts drawn in Python: horizontal (stacked) bars and columns.

No chart library and no script: the charts are plain SVG markup inside the
HTML, so the report opens anywhere, offline, and prints as it looks. A label
that differs by language is written twice with a `lang` attribute; the page's
style shows one. Every text from the data is escaped here.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from crmtool.report.texts import LANGS, L

WIDTH = 760
VALUE_W = 110  # room for the number on the right
ROW_H = 26
BAR_H = 16
MAX_LABEL = 56  # characters; longer labels are cut, the whole one is the tooltip
CHAR_W = 6.7  # a 12px sans-serif character, on average: how wide the label column must be


@dataclass
class Bar:
    label: str | L
    segments: list[tuple[int, str]]  # (value, css class of its colour)
    value: str | L  # what is written at the bar's end
    tooltip: str | L | None = None


@dataclass
class Column:
    label: str | L
    value: int
    caption: str | L  # written above the column
    klass: str = "c0"


def text(x: float, y: float, content: str | L, klass: str = "", anchor: str = "start") -> str:
    """An SVG <text>; twice (lang="ru", lang="en") when it differs by language."""
    attrs = f'x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"' + (f' class="{klass}"' if klass else "")
    if isinstance(content, L):
        if content.ru == content.en:
            return f"<text {attrs}>{escape(content.ru)}</text>"
        return "".join(f'<text {attrs} lang="{lang}">{escape(getattr(content, lang))}</text>' for lang in LANGS)
    return f"<text {attrs}>{escape(str(content))}</text>"


def _short(label: str | L) -> tuple[str | L, str | L | None]:
    """A label cut to MAX_LABEL characters, and the whole label as a tooltip when cut."""
    def cut(s: str) -> str:
        return s if len(s) <= MAX_LABEL else s[: MAX_LABEL - 1] + "…"
    if isinstance(label, L):
        short = L(cut(label.ru), cut(label.en))
        return short, (label if short != label else None)
    return cut(label), (label if cut(label) != label else None)


def _title(tooltip: str | L | None) -> str:
    if tooltip is None:
        return ""
    if isinstance(tooltip, L):
        return f"<title>{escape(tooltip.ru)} / {escape(tooltip.en)}</title>" if tooltip.ru != tooltip.en \
            else f"<title>{escape(tooltip.ru)}</title>"
    return f"<title>{escape(str(tooltip))}</title>"


def hbars(bars: list[Bar], scale: int | None = None) -> str:
    """One horizontal bar per row, stacked from its segments; all rows on one scale."""
    if not bars:
        return ""
    top = scale or max((sum(v for v, _ in b.segments) for b in bars), default=0) or 1
    longest = max(max(len(x) for x in (b.label if isinstance(b.label, L) else [b.label])) for b in bars)
    label_w = round(min(12 + CHAR_W * min(longest, MAX_LABEL), WIDTH / 2))
    span = WIDTH - label_w - VALUE_W
    height = ROW_H * len(bars) + 4
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
             f'preserveAspectRatio="xMinYMin meet">']
    for i, bar in enumerate(bars):
        y = i * ROW_H + 2
        label, cut = _short(bar.label)
        parts.append(f"<g>{_title(bar.tooltip or cut)}")
        parts.append(text(label_w - 8, y + BAR_H - 3, label, "label", "end"))
        x = float(label_w)
        for value, klass in bar.segments:
            w = span * min(value, top) / top
            if w > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="{BAR_H}" class="{klass}"/>')
                x += w
        parts.append(text(x + 6, y + BAR_H - 3, bar.value, "value"))
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def columns(cols: list[Column], height: int = 200) -> str:
    """Vertical columns over category labels (a distribution), with the count above each."""
    if not cols:
        return ""
    top = max(c.value for c in cols) or 1
    base, head = height - 26, 20
    step = (WIDTH - 20) / len(cols)
    w = min(step * 0.7, 70)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
             f'preserveAspectRatio="xMinYMin meet">',
             f'<line x1="10" y1="{base}" x2="{WIDTH - 10}" y2="{base}" class="axis"/>']
    for i, c in enumerate(cols):
        cx = 10 + step * i + step / 2
        h = (base - head) * c.value / top
        parts.append("<g>")
        if c.value:
            parts.append(f'<rect x="{cx - w / 2:.1f}" y="{base - max(h, 1):.1f}" width="{w:.1f}" '
                         f'height="{max(h, 1):.1f}" class="{c.klass}"/>')
        parts.append(text(cx, base - max(h, 1) - 5, c.caption, "value", "middle"))
        parts.append(text(cx, base + 17, c.label, "label", "middle"))
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)
