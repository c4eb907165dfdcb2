from django import template

from tierdesk.tickets.choices import ResolutionCode

register = template.Library()


@register.filter
def resolution_label(value: str) -> str:
    """A resolution code as people read it ("Solved (permanently)"); unknown values pass through."""
    return str(ResolutionCode(value).label) if value in ResolutionCode.values else str(value)


@register.filter
def business_duration(seconds: int | None) -> str:
    """Business time as an agent reads it: "2 h 05 min", "45 min"."""
    minutes = max(int(seconds or 0), 0) // 60
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
