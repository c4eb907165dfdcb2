from django import template

from tierdesk.tickets.choices import ResolutionCode

register = template.Library()


@register.filter
def resolution_label(value: str) -> str:
    """A resolution code as people read it ("Solved (permanently)"); unknown values pass through."""
    return str(ResolutionCode(value).label) if value in ResolutionCode.values else str(value)
