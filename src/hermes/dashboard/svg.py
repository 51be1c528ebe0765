"""Small bar and line charts as SVG, made on the server: a picture with no script and no library."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 180
_LEFT, _RIGHT, _TOP, _BOTTOM = 52, 10, 12, 26


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | None]
    css: str  # a class the stylesheet colours: one CSS file styles every chart


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 5, 10):
        if value <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)


def _number(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:g}" if value >= 10 or value == int(value) else f"{value:.1f}"


def chart(
    title: str, times: Sequence[float], series: Sequence[Series], *, kind: str = "bar", unit: str = ""
) -> Markup:
    """`kind` "bar" stacks nothing: the series' bars stand side by side in each time slot."""
    count = len(times)
    top = _nice_max(max((v for s in series for v in s.values if v is not None), default=0.0))
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    slot = plot_w / max(count, 1)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for fraction in (0, 0.5, 1):
        y = _TOP + plot_h * (1 - fraction)
        parts.append(f'<line class="grid" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(_number(top * fraction))}{escape(unit)}</text>"
        )
    for index in range(0, count, max(1, count // 6)):
        x = _LEFT + slot * (index + 0.5)
        label = (
            datetime.fromtimestamp(times[index])
            .astimezone()
            .strftime("%H:%M" if times[-1] - times[0] < 86400 * 2 else "%m-%d")
        )
        parts.append(f'<text class="axis" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">{label}</text>')
    for number, one in enumerate(series):
        if kind == "bar":
            width = slot * 0.8 / len(series)
            for index, value in enumerate(one.values):
                if not value:
                    continue
                height = plot_h * value / top
                x = _LEFT + slot * index + slot * 0.1 + width * number
                top_y = _TOP + plot_h - height
                tip = f"{escape(one.label)}: {escape(_number(value))}{escape(unit)}"
                parts.append(
                    f'<rect class="{one.css}" x="{x:.1f}" y="{top_y:.1f}" width="{width:.1f}" '
                    f'height="{height:.1f}"><title>{tip}</title></rect>'
                )
        else:
            points = [
                f"{_LEFT + slot * (index + 0.5):.1f},{_TOP + plot_h * (1 - value / top):.1f}"
                for index, value in enumerate(one.values)
                if value is not None
            ]
            if points:
                parts.append(f'<polyline class="{one.css}" points="{" ".join(points)}"/>')
                parts.extend(
                    f'<circle class="{one.css}" cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2.5"/>'
                    for p in points
                )
    legend_x = _LEFT
    for one in series:
        parts.append(
            f'<rect class="{one.css}" x="{legend_x}" y="0" width="10" height="8"/>'
            f'<text class="legend" x="{legend_x + 14}" y="8">{escape(one.label)}</text>'
        )
        legend_x += 24 + 7 * len(one.label)
    parts.append("</svg>")
    return Markup("".join(parts))
