"""Figures -> inline SVG bar charts, drawn at build time.

Pure functions of a Figure: the same data always gives the same bytes. The
SVG takes its colours from CSS (currentColor and classes), so it follows dark
mode and print; the data table beside it is what screen readers use.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from markupsafe import Markup, escape

from .data import Figure
from .languages import number_words

_WIDTH = 640
_HEIGHT = 360
_LEFT = 84
_RIGHT = 16
_TOP = 28
_BOTTOM = 64


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


def render_chart_svg(figure: Figure, element_id: str, strings: Mapping[str, str] | None = None) -> Markup:
    """A vertical bar chart with a title, labelled axes, gridlines and values on the bars."""
    ticks = nice_ticks(max(v.value for v in figure.values))
    top_value = ticks[-1]
    plot_width = _WIDTH - _LEFT - _RIGHT
    plot_height = _HEIGHT - _TOP - _BOTTOM
    slot = plot_width / len(figure.values)
    bar_width = min(96.0, slot * 0.6)
    title_id = f"{element_id}-title"
    parts = [
        f'<svg class="chart" viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" aria-labelledby="{title_id}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{title_id}">{escape(chart_label(figure, strings))}</title>',
    ]
    for tick in ticks:
        y = _TOP + plot_height - plot_height * tick / top_value
        parts.append(f'<line class="chart-grid" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="chart-tick" x="{_LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">'
                     f"{format_number(tick, strings)}</text>")
    for index, value in enumerate(figure.values):
        height = plot_height * value.value / top_value
        x = _LEFT + slot * index + (slot - bar_width) / 2
        y = _TOP + plot_height - height
        parts.append(f'<rect class="chart-bar" x="{x:.1f}" y="{y:.1f}" width="{bar_width:.1f}" '
                     f'height="{height:.1f}"/>')
        parts.append(f'<text class="chart-value" x="{x + bar_width / 2:.1f}" y="{y - 8:.1f}" '
                     f'text-anchor="middle">{escape(format_number(value.value, strings))}</text>')
        parts.append(f'<text class="chart-label" x="{x + bar_width / 2:.1f}" y="{_TOP + plot_height + 22:.1f}" '
                     f'text-anchor="middle">{escape(value.label)}</text>')
    axis_y = _TOP + plot_height
    parts.append(f'<line class="chart-axis" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{axis_y}" y2="{axis_y}"/>')
    if figure.axis_label:
        parts.append(f'<text class="chart-axis-title" x="{_LEFT + plot_width / 2:.1f}" y="{_HEIGHT - 12}" '
                     f'text-anchor="middle">{escape(figure.axis_label)}</text>')
    parts.append(f'<text class="chart-axis-title" transform="translate(18 {_TOP + plot_height / 2:.1f}) rotate(-90)" '
                 f'text-anchor="middle">{escape(figure.unit.capitalize())}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
