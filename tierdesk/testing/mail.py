"""Building raw e-mails for intake tests, and a desk mailbox to send them to."""

from __future__ import annotations

import email.utils
from email.message import EmailMessage
from itertools import count

from tierdesk.core.actor import Actor
from tierdesk.intake.mail.services import create_mailbox
from tierdesk.intake.models import Mailbox
from tierdesk.tenancy.models import Organisation

_serial = count(1)


def raw_email(
    *,
    sender: str = "Rita Requester <rita@hospital.test>",
    to: str = "support@northwind.test",
    subject: str = "Printer on floor 3 is jammed",
    body: str = "Hello,\n\nthe printer on floor 3 shows a paper jam and nothing prints.\n\nRita",
    html: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    cc: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(localtime=False)
    message["Message-ID"] = message_id or f"<test-{next(_serial)}@mail.hospital.test>"
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments or []:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def desk_mailbox(provider: Organisation, **kwargs: object) -> Mailbox:
    defaults: dict[str, object] = {"name": "Support", "address": "support@northwind.test"}
    defaults.update(kwargs)
    return create_mailbox(actor=Actor.system("command"), organisation=provider, **defaults)  # type: ignore[arg-type]
