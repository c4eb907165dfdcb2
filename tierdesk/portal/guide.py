"""How the portal guides a requester by category: one hint per category, and the ticket type
the category implies. The one place that decides which categories are service requests."""

from __future__ import annotations

from tierdesk.tickets.choices import TicketType
from tierdesk.tickets.models import Category

# Asking for something new is a service request; everything else is something broken.
SERVICE_REQUEST_CATEGORIES = frozenset(
    {
        "Software / Installation request",
        "Accounts & access / New account",
        "Accounts & access / Permissions",
        "Accounts & access / Password reset",
    }
)

# What helps the desk most for each area, in the requester's words. A sub-category without
# its own hint shows its area's hint.
HINTS: dict[str, str] = {
    "Hardware": "A device that is broken, slow or missing. The asset tag on its sticker helps us find it.",
    "Hardware / Laptop": "Say what happens (no power, screen, keyboard, battery) and the asset tag on the sticker.",
    "Hardware / Printer": "Give the printer's name from its label and what its display says.",
    "Software": "Which program, which version if you know it, and the exact error message.",
    "Software / Installation request": "Name the software and why you need it; licensed software may need your "
    "manager's approval.",
    "Software / Licence": "Which product, and whether the licence expired or a new seat is needed.",
    "Network": "Where you are (building, floor) and whether colleagues nearby have the same problem.",
    "Network / VPN": "Are you at home or travelling? Include the error shown by the VPN client.",
    "Accounts & access": "Which system or account this is about. Never send us your password.",
    "Accounts & access / New account": "The new person's name, start date, job and the systems they need.",
    "Accounts & access / Permissions": "Which folder, mailbox or application, and what access you need (read or "
    "change).",
    "Accounts & access / Password reset": "Which account is locked or expired. We will never ask for your password.",
    "Endpoint security": "Do not open the file or link again. Describe what you saw and when.",
    "Endpoint security / Phishing report": "Forward the suspicious e-mail as an attachment, or give its sender and "
    "subject. Do not click its links.",
}
DEFAULT_HINT = "Describe what you were doing, what you expected and what happened instead."


def ticket_type_for(category: Category | None) -> str:
    if category is not None and category.path in SERVICE_REQUEST_CATEGORIES:
        return TicketType.SERVICE_REQUEST
    return TicketType.INCIDENT


def hint_for(category: Category | None) -> str:
    """The category's own hint, else its area's, else the general one."""
    if category is None:
        return DEFAULT_HINT
    names = category.path.split(" / ")
    while names:
        hint = HINTS.get(" / ".join(names))
        if hint is not None:
            return hint
        names.pop()
    return DEFAULT_HINT
