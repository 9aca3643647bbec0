from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def short_duration(value: timedelta | None) -> str:
    """3 s, 1 min 05 s, 2 h 03 min."""
    if value is None:
        return "—"
    s = int(round(value.total_seconds()))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"
