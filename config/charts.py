"""Server-side pictures: coordinates for small SVG charts the templates draw (no JavaScript).

Shared by the apps' pages (leaderboard, exports); templates/_bar_chart.html draws a bar chart."""

from dataclasses import dataclass

PALETTE = ["#2b5fd9", "#1c7c4a", "#b3261e", "#8a5a00", "#6b3fa0", "#0f7f8c"]


@dataclass(frozen=True)
class Line:
    name: str
    color: str
    points: str  # "x,y x,y …" for <polyline>
    last: int


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    lines: list[Line]
    x_labels: list[tuple[float, str]]
    y_max: int


def line_chart(series, *, width: int = 640, height: int = 220, pad: int = 32) -> LineChart:
    """Cumulative points per day; `series` items have .name and .points [(date, value)]."""
    days = [day for day, _ in series[0].points] if series else []
    y_max = max([value for s in series for _, value in s.points] + [1])
    step = (width - 2 * pad) / max(len(days) - 1, 1)

    def x(i: int) -> float:
        return round(pad + i * step, 1)

    def y(value: int) -> float:
        return round(height - pad - (height - 2 * pad) * value / y_max, 1)

    lines = [
        Line(
            name=s.name,
            color=PALETTE[n % len(PALETTE)],
            points=" ".join(f"{x(i)},{y(v)}" for i, (_, v) in enumerate(s.points)),
            last=s.points[-1][1] if s.points else 0,
        )
        for n, s in enumerate(series)
    ]
    labels = [(x(i), day.strftime("%a %d")) for i, day in enumerate(days)]
    return LineChart(width=width, height=height, lines=lines, x_labels=labels, y_max=y_max)


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int
    length: float


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    label_width: int


def bar_chart(items, *, width: int = 640, row: int = 26, label_width: int = 190) -> BarChart:
    """Horizontal bars for (label, value) pairs."""
    top = max([value for _, value in items] + [1])
    room = width - label_width - 60
    bars = [
        Bar(label=label, value=value, y=i * row, length=round(room * value / top, 1))
        for i, (label, value) in enumerate(items)
    ]
    return BarChart(width=width, height=row * len(items), bars=bars, label_width=label_width)
