"""Charts as inline SVG, drawn by leather (pure Python, no JavaScript, nothing fetched).

Reference and current distributions are drawn over each other in translucent colours:
columns on shared bins for numerical features, horizontal bars for categorical ones.
"""

from __future__ import annotations

from typing import Any

import leather

from argoscope.checks.distributions import Distribution

REFERENCE_COLOR = "rgba(55, 126, 184, 0.55)"
CURRENT_COLOR = "rgba(228, 26, 28, 0.45)"
WIDTH, HEIGHT = 460, 230
_FONT = "system-ui, sans-serif"


def _theme() -> None:
    # leather keeps its look in module settings; ours are set before every chart so that
    # nothing else in the process (another leather user) can change how a report looks.
    theme: Any = leather.theme
    theme.background_color = "#ffffff"
    for prefix in ("title", "legend", "axis_title", "tick"):
        setattr(theme, f"{prefix}_font_family", _FONT)
    theme.tick_font_size = 11
    theme.tick_font_char_width = 6
    theme.tick_font_char_height = 11
    theme.legend_font_size = 12
    theme.legend_font_char_width = 7
    theme.legend_font_char_height = 12
    theme.tick_color = "#e4e4e4"
    theme.label_color = "#555"
    theme.legend_color = "#333"


def _percent(value: float, index: int, count: int) -> str:
    return f"{value:g} %"


def distribution_svg(distribution: Distribution) -> str:
    """The two distributions of one feature as an SVG element (a string)."""
    _theme()
    reference = [round(100.0 * share, 3) for share in distribution.reference]
    current = [round(100.0 * share, 3) for share in distribution.current]
    chart = leather.Chart()
    if distribution.kind == "numerical":
        # Bins named by their lower edge; a tick every few bins keeps the labels legible.
        names = [f"{edge:.3g}" for edge in distribution.edges[:-1]]
        names = [f"{name}\u200b" * (1 + names[:i].count(name)) if name in names[:i] else name
                 for i, name in enumerate(names)]  # repeated rounded edges stay distinct
        chart.set_x_scale(leather.Ordinal(names))
        chart.add_x_axis(ticks=names[::max(1, len(names) // 6)])
        chart.add_y_axis(tick_formatter=_percent)
        chart.add_columns(list(zip(names, reference, strict=True)), name="reference",
                          fill_color=REFERENCE_COLOR)
        chart.add_columns(list(zip(names, current, strict=True)), name="current",
                          fill_color=CURRENT_COLOR)
    else:
        # Most frequent first, read from the top: leather's ordinal y axis starts at the bottom.
        reference, current = reference[::-1], current[::-1]
        names = [label[:24] for label in distribution.labels[::-1]]
        names = [f"{name}\u200b" * (1 + names[:i].count(name)) if name in names[:i] else name
                 for i, name in enumerate(names)]
        chart.set_y_scale(leather.Ordinal(names))
        chart.add_x_axis(tick_formatter=_percent)
        chart.add_bars(list(zip(reference, names, strict=True)), name="reference",
                       fill_color=REFERENCE_COLOR)
        chart.add_bars(list(zip(current, names, strict=True)), name="current",
                       fill_color=CURRENT_COLOR)
    svg: str = chart.to_svg(width=WIDTH, height=HEIGHT)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{_attr(distribution.feature)}: '
                       'reference and current distributions" ', 1)


def _attr(text: str) -> str:
    return (text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            .replace(">", "&gt;"))
