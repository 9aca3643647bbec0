"""One way to show numbers across the pages: accuracy as a percent ("94.2%"), durations in
seconds with their unit ("4.8 s")."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """0.9423 -> "94.2%"; None -> "—"."""
    if value is None or value == "":
        return "—"
    try:
        return f"{float(value):.1%}"
    except (TypeError, ValueError):
        return "—"


@register.filter
def percent_points(value: float | None) -> str:
    """A change of accuracy: 0.021 -> "+2.1 pts"."""
    if value is None or value == "":
        return ""
    try:
        points = float(value) * 100
    except (TypeError, ValueError):
        return ""
    return "0" if abs(points) < 0.05 else f"{points:+.1f} pts"


@register.filter
def seconds(value: float | None) -> str:
    """4.83 -> "4.8 s"; 75 -> "1 min 15 s"."""
    if value is None or value == "":
        return "—"
    s = float(value)
    if s < 0.05:
        return "< 0.1 s"
    if s < 60:
        return f"{s:.1f} s"
    whole = int(round(s))
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
