"""Mail that no person wrote: auto-replies, bounces, delivery and read reports, our own mail coming back.

None of it opens a ticket or gets an acknowledgement: answering an auto-reply is how two desks end
up mailing each other forever. A bounce names the recipient that failed (flufl.bounce knows the
formats of dozens of mail systems; a standard delivery report is read directly) and, through the
Message-ID of ours it carries, the ticket whose mail failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from django.conf import settings
from flufl.bounce import scan_message

from tierdesk.intake.mail.parsing import ParsedMail, header_text, message_ids
from tierdesk.notifications.bounces import DAEMON_LOCAL_PARTS

LOOP_HEADER = "X-Tierdesk-Loop"

AUTO_REPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Auto-Response", "X-AutoReply-From", "X-Mail-Autoreply")
BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply", "auto-reply"}
AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto[- ]?reply|auto[- ]?response|autorespons\w*|out of (the )?office|"
    r"abwesenheitsnotiz|automatische antwort|r[ée]ponse automatique|respuesta autom[aá]tica|"
    r"risposta automatica|automatisch antwoord|fuera de la oficina|absence)\b",
    re.IGNORECASE,
)
BOUNCE_SUBJECT = re.compile(
    r"(undeliver|undelivered|delivery (status notification|failure|has failed|failed|notification)|"
    r"failure notice|returned mail|mail delivery (failed|failure|subsystem|system)|returned to sender|"
    r"non[- ]?deliver|nondeliverable|could not be delivered|delivery problem|mail system error|"
    r"message not delivered|warning: could not send|delayed mail|unzustellbar|"
    r"rejected|bounce|permanent error|mailbox (unavailable|full|is full)|error sending|mail failed|"
    r"returning to sender|delivery report|nicht zugestellt|non remis|メールエラー)",
    re.IGNORECASE,
)
BOUNCE_SENDERS = DAEMON_LOCAL_PARTS | {"postmaster", "mail-daemon", "maildaemon", "mdaemon", "mailerdaemon"}
# In a From or Return-Path header, these name a mail system rather than a person.
DAEMON_NAMES = re.compile(r"mailer[-_ ]?daemon|post[-_ ]?master|mail[ ._-]delivery[ ._-](system|subsystem)", re.I)


@dataclass
class Noise:
    kind: str  # auto_reply, bounce, delay, read_receipt, complaint, loop, daemon
    reason: str
    failed_recipients: list[str] = field(default_factory=list)
    original_message_ids: list[str] = field(default_factory=list)


def detect(mail: ParsedMail) -> Noise | None:
    message = mail.message
    loop = header_text(message, LOOP_HEADER).strip().lower()
    if loop and loop == settings.MESSAGE_ID_DOMAIN.lower():
        return Noise("loop", f"our own mail came back ({LOOP_HEADER}: {loop})")
    report = _report_type(message)
    if report == "disposition-notification":
        return Noise("read_receipt", "a read or disposition receipt")
    if report == "feedback-report" or _has_part(message, "message/feedback-report"):
        return Noise("complaint", "an abuse or spam complaint (feedback report)")
    bounce = _bounce(mail, report)
    if bounce is not None:
        return bounce
    auto = _auto_reply_reason(mail)
    if auto:
        return Noise("auto_reply", auto)
    if _daemon_sender(mail):
        return Noise("daemon", f"sent by a mail system ({mail.from_address or 'no address'}), not a person")
    return None


def _daemon_sender(mail: ParsedMail) -> bool:
    if mail.from_address.partition("@")[0] in BOUNCE_SENDERS:
        return True
    return bool(DAEMON_NAMES.search(header_text(mail.message, "From"))) or bool(
        DAEMON_NAMES.search(header_text(mail.message, "Return-Path"))
    )


def _auto_reply_reason(mail: ParsedMail) -> str:
    message = mail.message
    submitted = header_text(message, "Auto-Submitted").strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    for name in AUTO_REPLY_HEADERS:
        if header_text(message, name):
            return f"{name} header"
    precedence = header_text(message, "Precedence").strip().lower()
    if precedence in BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    if header_text(message, "List-Id"):
        return "List-Id header (mailing list)"
    if header_text(message, "X-Apple-Action").strip().upper() == "VACATION":
        return "X-Apple-Action: VACATION"
    suppress = header_text(message, "X-Auto-Response-Suppress").strip().lower()
    if AUTO_REPLY_SUBJECT.search(mail.subject):
        return f"auto-reply subject ({mail.subject[:60]})"
    if suppress in {"all", "oof"} and _null_sender(message):
        return "X-Auto-Response-Suppress with a null sender"
    return ""


def _null_sender(message: Message) -> bool:
    return header_text(message, "Return-Path").strip() in {"<>", ""} and bool(header_text(message, "Return-Path"))


def _report_type(message: Message) -> str:
    if message.get_content_type() != "multipart/report":
        return ""
    try:
        return str(message.get_param("report-type") or "").lower()
    except Exception:
        return ""


def _has_part(message: Message, content_type: str) -> bool:
    return any(part.get_content_type() == content_type for part in message.walk())


def _bounce(mail: ParsedMail, report: str) -> Noise | None:
    message = mail.message
    statuses = _delivery_status(message)
    daemon = _daemon_sender(mail)
    bounce_subject = bool(BOUNCE_SUBJECT.search(mail.subject))
    automated = _is_automated(mail)
    looks_like = (
        report == "delivery-status"
        or (message.get_content_type() == "multipart/report" and report == "")
        or bool(statuses)
        or (daemon and (bounce_subject or automated or _has_original(message)))
        or (bounce_subject and (automated or _has_original(message)))
        or (_null_sender(message) and _has_original(message))
    )
    if not looks_like:
        return None
    failed = [address for address, action, _ in statuses if action == "failed"]
    delayed = [address for address, action, _ in statuses if action == "delayed"]
    if statuses and not failed and delayed:
        return Noise("delay", f"delivery to {', '.join(delayed[:5])} is delayed; the mail system keeps trying")
    if not failed:
        try:
            failed = sorted({str(address).lower() for address in scan_message(message) if address})
        except Exception:
            failed = []
    diagnostic = next((status for _, action, status in statuses if action == "failed" and status), "")
    reason = f"delivery to {', '.join(failed[:5]) or 'an unnamed recipient'} failed"
    if diagnostic:
        reason += f" ({diagnostic[:200]})"
    return Noise("bounce", reason, failed_recipients=failed[:20], original_message_ids=_original_ids(mail))


def _is_automated(mail: ParsedMail) -> bool:
    return _null_sender(mail.message) or bool(header_text(mail.message, "Auto-Submitted"))


def _has_original(message: Message) -> bool:
    return any(
        part.get_content_type() in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")
        for part in message.walk()
    )


def _delivery_status(message: Message) -> list[tuple[str, str, str]]:
    """(recipient, action, status and diagnostic) from every message/delivery-status part."""
    found: list[tuple[str, str, str]] = []
    for part in message.walk():
        if part.get_content_type() not in ("message/delivery-status", "message/global-delivery-status"):
            continue
        text = _part_text(part)
        for block in re.split(r"\n\s*\n", text):
            fields = _fields(block)
            recipient = fields.get("final-recipient") or fields.get("original-recipient") or ""
            if not recipient:
                continue
            address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
            action = fields.get("action", "").strip().lower()
            detail = " ".join(x for x in (fields.get("status", ""), fields.get("diagnostic-code", "")) if x)
            if "@" in address:
                found.append((address, action or "failed", " ".join(detail.split())))
    return found


def _part_text(part: Message) -> str:
    payload: Any = part.get_payload()
    if isinstance(payload, list):  # the parser split the status groups into sub-messages
        return "\n\n".join("\n".join(f"{k}: {v}" for k, v in sub.items()) for sub in payload)
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "replace")
    return str(payload or "")


def _fields(block: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    current = ""
    for line in block.splitlines():
        if line[:1] in (" ", "\t") and current:
            fields[current] += " " + line.strip()
            continue
        name, _, value = line.partition(":")
        if value:
            current = name.strip().lower()
            fields[current] = value.strip()
    return fields


def _original_ids(mail: ParsedMail) -> list[str]:
    """Message-IDs of the mail that bounced: from the returned message or headers, else anywhere in the text."""
    ids: list[str] = []
    for part in mail.message.walk():
        kind = part.get_content_type()
        if kind in ("message/rfc822", "message/global"):
            inner: Any = part.get_payload()
            if isinstance(inner, list) and inner:
                ids += message_ids(header_text(inner[0], "Message-ID"))
        elif kind in ("text/rfc822-headers", "message/rfc822-headers"):
            ids += message_ids(" ".join(re.findall(r"(?im)^message-id:\s*(.+)$", _part_text(part))))
    domain = settings.MESSAGE_ID_DOMAIN.lower()
    if not ids:  # a bounce that quotes the original inline: find our own ids in its text
        ids = [mid for mid in message_ids(mail.text) if mid.lower().endswith(f"@{domain}>")]
    return list(dict.fromkeys(ids))[:10]
