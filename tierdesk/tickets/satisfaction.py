"""The satisfaction link of a resolution mail: a signed, expiring token naming the ticket.

Many requesters write in by e-mail and never get a login; the link proves who they are for one
thing only, rating that ticket's resolution. It names the requester too, so a ticket handed to
another requester meanwhile cannot be rated in the new requester's name with the old link.
"""

from __future__ import annotations

from datetime import timedelta

from django.core import signing

from tierdesk.core.errors import NotFound
from tierdesk.tickets.models import Ticket

LINK_MAX_AGE = timedelta(days=30)
# Its own salt: a token signed for anything else in the desk is never a rating link.
_SALT = "tierdesk.tickets.satisfaction-link"


class LinkExpired(NotFound):
    """The signature is right but the link is older than LINK_MAX_AGE."""


def link_token(ticket: Ticket) -> str:
    return signing.TimestampSigner(salt=_SALT).sign_object({"ticket": ticket.pk, "requester": ticket.requester_id})


def ticket_for_link(token: str) -> Ticket:
    """The ticket a rating link names; NotFound (LinkExpired) for a forged, altered or old link."""
    try:
        payload = signing.TimestampSigner(salt=_SALT).unsign_object(token, max_age=LINK_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise LinkExpired(
            f"This rating link has expired: links work for {LINK_MAX_AGE.days} days after the resolution."
        ) from exc
    except (signing.BadSignature, ValueError) as exc:
        raise NotFound("This rating link is not valid. Please use the link exactly as it came in the e-mail.") from exc
    ticket_id, requester_id = (payload.get("ticket"), payload.get("requester")) if isinstance(payload, dict) else (0, 0)
    if not isinstance(ticket_id, int) or not isinstance(requester_id, int):
        raise NotFound("This rating link is not valid.")
    ticket = (
        Ticket.objects.select_related("organisation", "requester")
        .filter(pk=ticket_id, requester_id=requester_id)
        .first()
    )
    if ticket is None:
        raise NotFound("The ticket of this rating link no longer exists, or is now in someone else's name.")
    return ticket
