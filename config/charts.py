"""Server-side pictures: coordinates for small SVG charts the templates draw (no JavaScript).

Shared by the apps' pages (leaderboard, exports, drive); templates/_bar_chart.html draws a bar
chart, _line_chart.html lines, _target_chart.html progress toward targets."""

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


def _day_label(day) -> str:
    return day.strftime("%a %d")


def line_chart(
    series,
    *,
    width: int = 640,
    height: int = 220,
    pad: int = 32,
    label=_day_label,
    max_labels: int = 0,
) -> LineChart:
    """Lines over days (or hours); `series` items have .name and .points [(moment, value)].

    `label` writes a moment for the x axis; with `max_labels`, only every so many are written,
    so that a week of hours stays readable."""
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
    every = max(1, -(-len(days) // max_labels)) if max_labels else 1
    labels = [(x(i), label(day)) for i, day in enumerate(days) if i % every == 0]
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


@dataclass(frozen=True)
class TargetBar:
    label: str
    done: int
    pending: int
    target: int
    y: int
    done_length: float
    pending_length: float
    target_x: float


@dataclass(frozen=True)
class TargetChart:
    width: int
    height: int
    bars: list[TargetBar]
    label_width: int


def target_chart(items, *, width: int = 640, row: int = 30, label_width: int = 190) -> TargetChart:
    """Horizontal bars toward a target for (label, done, pending, target) items: `done` solid,
    `pending` (e.g. in review) lighter after it, the target a marker across the row."""
    top = max([max(done + pending, target) for _, done, pending, target in items] + [1])
    room = width - label_width - 70

    def length(value: int) -> float:
        return round(room * value / top, 1)

    bars = [
        TargetBar(
            label=label,
            done=done,
            pending=pending,
            target=target,
            y=i * row,
            done_length=length(done),
            pending_length=length(pending),
            target_x=round(label_width + length(target), 1),
        )
        for i, (label, done, pending, target) in enumerate(items)
    ]
    return TargetChart(width=width, height=row * len(items), bars=bars, label_width=label_width)
