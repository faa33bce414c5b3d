"""Figures -> inline SVG charts (vertical bars, horizontal bars, a line), drawn at build time.

Pure functions of a Figure: the same data always gives the same bytes. The drawing has no viewBox:
its width is 100% of the figure and its text keeps one pixel size, so nothing shrinks on a phone.
Horizontal positions are percentages and text is placed so that it fits, without overlapping, at the
narrowest width a chart is shown (MIN_WIDTH); wider, every gap only grows. Colours come from CSS, so
the chart follows dark mode and print; the data table beside it is what screen readers use.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from markupsafe import Markup, escape

from .data import FIGURES_FILE, Figure
from .errors import Problem
from .languages import number_words

# The narrowest a chart is drawn, in CSS px: on a 320 px screen the figure spans the screen (style.css)
# and leaves 296 px inside its padding.
MIN_WIDTH = 288
FONT = 14  # px, every text of a chart
_TITLE_Y = 15  # baseline of the unit's name, above the plot
_PLOT_TOP = 44
_PLOT_HEIGHT = 200
_GAP = 4  # px kept between neighbouring texts
_LEFT = "2"  # px: where left-aligned text starts, clear of the edge for glyphs that reach left of their origin


def format_number(value: float, strings: Mapping[str, str] | None = None) -> str:
    """13214.0 -> '13,214'; 2.5 -> '2.5', with the separators of a language's strings table."""
    return number_words(value, strings or {})


def nice_ticks(maximum: float, target: int = 5) -> list[float]:
    """Round tick values from 0 to at least `maximum` (steps of 1, 2 or 5 times a power of ten)."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw_step = maximum / target
    power = 10 ** math.floor(math.log10(raw_step))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw_step)
    count = math.ceil(maximum / step)
    return [step * i for i in range(count + 1)]


def chart_label(figure: Figure, strings: Mapping[str, str] | None = None) -> str:
    """The chart's accessible name: its title and every value, e.g. 'Applications: 2008 13,214, ...', in the
    words of a strings table (`chart_accessible_name`, `chart_value`, `list_separator`)."""
    table = strings or {}
    values = table.get("list_separator", ", ").join(
        table.get("chart_value", "{label} {value}").format(label=v.label, value=format_number(v.value, table))
        for v in figure.values)
    return table.get("chart_accessible_name", "{title}: {values}").format(title=figure.title, values=values)


def text_width(text: str, bold: bool = False) -> float:
    """A generous estimate of a text's width in px at FONT size: wide system fonts (DejaVu Sans) stay inside it."""
    em = 0.0
    for char in text:
        if char in " ,.:;'!|il":
            em += 0.36
        elif char in "mwMW@%":
            em += 1.0
        elif char.isupper():
            em += 0.78
        else:  # digits, lower case and everything else
            em += 0.66
    return em * FONT * (1.1 if bold else 1.0)


def wrap_words(text: str, width: float) -> list[str]:
    """Lines of `text` no wider than `width` px, broken between words (inside a word only when it alone is wider)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if text_width(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while text_width(current) > width and len(current) > 1:
            cut = max([i for i in range(1, len(current)) if text_width(current[:i] + "-") <= width] or [1])
            lines.append(current[:cut] + "-")
            current = current[cut:]
    if current:
        lines.append(current)
    return lines or [""]


def _pct(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") + "%"


def _text(css: str, x: str, y: float, text: str, anchor: str = "start") -> str:
    anchor_attr = f' text-anchor="{anchor}"' if anchor != "start" else ""
    return f'<text class="{css}" x="{x}" y="{y:.1f}"{anchor_attr}>{escape(text)}</text>'


def render_chart_svg(figure: Figure, element_id: str,
                     strings: Mapping[str, str] | None = None) -> tuple[Markup, list[Problem]]:
    """The figure drawn as its kind asks (its numbers as the language of `strings` writes them), and the
    problems that keep it from being drawn legibly."""
    title_id = f"{element_id}-title"
    problems: list[Problem] = []

    def number(value: float) -> str:
        return format_number(value, strings)

    if figure.kind == "hbar":
        height, parts = _horizontal_bars(figure, number)
    else:
        height, parts = _vertical(figure, problems, number)
    head = (f'<svg class="chart chart-kind-{figure.kind}" width="100%" height="{height:.0f}" font-size="{FONT}" '
            f'role="img" aria-labelledby="{title_id}" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="{title_id}">{escape(chart_label(figure, strings))}</title>')
    return Markup(head + "".join(parts) + "</svg>"), problems


def _vertical(figure: Figure, problems: list[Problem], number: Callable[[float], str]) -> tuple[float, list[str]]:
    """Bars standing on a value axis, or a line through the values; tick values sit left of the plot."""
    ticks = nice_ticks(max(v.value for v in figure.values))
    top_value = ticks[-1]
    bottom = _PLOT_TOP + _PLOT_HEIGHT
    tick_labels = [number(tick) for tick in ticks]
    gutter = max(text_width(label) for label in tick_labels) + 2 * _GAP + int(_LEFT)  # px left of the gridlines
    start = math.ceil(gutter / MIN_WIDTH * 100)  # % where the first slot begins: past the gutter at any width
    count = len(figure.values)
    slot = (100 - start) / count  # %
    slot_px = slot / 100 * MIN_WIDTH  # the narrowest a slot gets
    centres = [start + slot * (index + 0.5) for index in range(count)]

    parts = [_text("chart-axis-title", _LEFT, _TITLE_Y, figure.unit.capitalize())]
    for tick, label in zip(ticks, tick_labels, strict=True):
        y = bottom - _PLOT_HEIGHT * tick / top_value
        parts.append(f'<line class="chart-grid" x1="{gutter - _GAP:.0f}" x2="100%" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(_text("chart-tick", _LEFT, y + 5, label))

    widest_label = max(text_width(v.label) for v in figure.values)
    step = 1
    while widest_label + _GAP > slot_px * step and step < count:
        step += 1

    def inside(index: int) -> bool:  # a label centred on its slot stays clear of the tick values and the edge
        centre_px, half = centres[index] / 100 * MIN_WIDTH, text_width(figure.values[index].label) / 2
        return centre_px - half >= gutter - _GAP and centre_px + half <= MIN_WIDTH

    # Bars keep every label: when they do not fit side by side, every other one goes on a second row.
    staggered = figure.kind == "bar" and step == 2 and inside(0) and inside(count - 1)
    if step > 1 and figure.kind == "bar" and not staggered:
        problems.append(Problem(FIGURES_FILE, figure.line,
                                f"chart '{figure.id}': {count} bars with labels as long as these do not fit side by side "
                                "on a phone",
                                "write kind: hbar for horizontal bars, a line for each label, or shorten the labels"))
    values_fit = max(text_width(number(v.value), bold=True) for v in figure.values) + _GAP <= slot_px
    points = [(centre, bottom - _PLOT_HEIGHT * value.value / top_value)
              for centre, value in zip(centres, figure.values, strict=True)]
    if figure.kind == "line":
        for (x1, y1), (x2, y2) in zip(points, points[1:], strict=False):
            parts.append(f'<line class="chart-line" x1="{_pct(x1)}" y1="{y1:.1f}" x2="{_pct(x2)}" y2="{y2:.1f}"/>')
        parts += [f'<circle class="chart-point" cx="{_pct(x)}" cy="{y:.1f}" r="4"/>' for x, y in points]
        last_value = number(figure.values[-1].value)
        # The newest value is written above its point, ending there; only when it clears the tick values.
        if centres[-1] / 100 * MIN_WIDTH - text_width(last_value, bold=True) >= gutter:
            parts.append(_text("chart-value", _pct(centres[-1]), points[-1][1] - 10, last_value, "end"))
    else:
        bar = slot * 0.6
        for (centre, y), value in zip(points, figure.values, strict=True):
            parts.append(f'<rect class="chart-bar" x="{_pct(centre - bar / 2)}" y="{y:.1f}" width="{_pct(bar)}" '
                         f'height="{bottom - y:.1f}"/>')
            if values_fit:
                parts.append(_text("chart-value", _pct(centre), y - 6, number(value.value), "middle"))
    for index, (centre, value) in enumerate(zip(centres, figure.values, strict=True)):
        if staggered:
            parts.append(_text("chart-label", _pct(centre), bottom + 20 + 18 * (index % 2), value.label, "middle"))
        elif index % step == 0 and inside(index):  # a line's labels: every step-th one that fits
            parts.append(_text("chart-label", _pct(centre), bottom + 20, value.label, "middle"))
    parts.append(f'<line class="chart-axis" x1="{gutter - _GAP:.0f}" x2="100%" y1="{bottom}" y2="{bottom}"/>')
    below = bottom + (18 if staggered else 0)
    height = below + 28
    if figure.axis_label:
        parts.append(_text("chart-axis-title", _pct(start + (100 - start) / 2), below + 44, figure.axis_label, "middle"))
        height = below + 54
    return height, parts


def _horizontal_bars(figure: Figure, number: Callable[[float], str]) -> tuple[float, list[str]]:
    """A row per value: its label (wrapped onto lines) on the left, its value on the right, the bar beneath."""
    top_value = max(v.value for v in figure.values) or 1.0
    value_width = max(text_width(number(v.value), bold=True) for v in figure.values)
    parts = [_text("chart-axis-title", _LEFT, _TITLE_Y, figure.unit.capitalize())]
    y = _TITLE_Y + 8
    for value in figure.values:
        lines = wrap_words(value.label, MIN_WIDTH - value_width - 3 * _GAP)
        for index, line in enumerate(lines):
            y += FONT + 6
            parts.append(_text("chart-label", _LEFT, y, line))
            if index == 0:
                parts.append(_text("chart-value", "100%", y, number(value.value), "end"))
        parts.append(f'<rect class="chart-bar" x="0" y="{y + 7:.1f}" width="{_pct(100 * value.value / top_value)}" '
                     f'height="14"/>')
        y += 7 + 14 + 6
    return y + 4, parts
