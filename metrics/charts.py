"""A line chart drawn as inline SVG on the server: the admin needs no JavaScript and no internet."""

from collections.abc import Mapping, Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

COLOURS = {
    "sent": "#4c6ef5",
    "delivered": "#2f9e44",
    "opened": "#f59f00",
    "clicked": "#ae3ec9",
    "bounced": "#e03131",
    "complained": "#495057",
}


MAX_DOTS = 400


def line_chart(
    series: Mapping[str, Sequence[int]], labels: Sequence[str], *, width: int = 760, height: int = 240
) -> SafeString:
    """One polyline per series over shared x labels, with a y axis from 0 to the largest value."""
    left, bottom, top, right = 44, 28, 12, 12
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([1, *(max(values, default=0) for values in series.values())])
    count = max(len(labels), 2)

    def x(index: int) -> float:
        return left + plot_w * index / (count - 1)

    def y(value: int) -> float:
        return top + plot_h * (1 - value / peak)

    grid = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#ddd"/>'
        '<text x="{}" y="{}" font-size="10" text-anchor="end">{}</text>',
        ((left, width - right, y(v), y(v), left - 4, y(v) + 3, v) for v in sorted({0, peak // 2, peak})),
    )
    ticks = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text>',
        ((x(i), height - 8, label) for i, label in enumerate(labels) if i % max(1, len(labels) // 6) == 0),
    )
    lines = format_html_join(
        "",
        '<polyline fill="none" stroke="{}" stroke-width="2" points="{}"><title>{}</title></polyline>',
        (
            (COLOURS.get(name, "#000"), " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values)), name)
            for name, values in series.items()
        ),
    )
    # Values on hover: a dot per point with its value as the tooltip (up to a readable number of points).
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="3" fill="{}"><title>{}: {} {}</title></circle>',
        (
            (f"{x(i):.1f}", f"{y(v):.1f}", COLOURS.get(name, "#000"), labels[i] if i < len(labels) else i, v, name)
            for name, values in series.items()
            for i, v in enumerate(values)
            if len(values) <= MAX_DOTS
        ),
    )
    legend = format_html_join(
        "",
        '<span style="color:{};margin-right:1em">&#9632; {}</span>',
        ((COLOURS.get(name, "#000"), name) for name in series),
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" style="width:100%;height:auto" role="img" '
        'aria-label="engagement chart">{}{}{}{}</svg><div>{}</div>',
        width,
        height,
        grid,
        ticks,
        lines,
        dots,
        legend,
    )
