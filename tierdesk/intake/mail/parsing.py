"""Reading a raw e-mail into what the desk needs of it, whatever state the message is in.

The standard library's `email` package (modern policy) does the MIME work. Around it: charset
fallbacks for the labels real mail carries (unknown, misspelt, UTF-7), HTML sanitised and turned
into text, quoted history and signatures trimmed from replies (mail-parser-reply), attachments and
inline images collected. A header the parser cannot read is taken raw rather than failing the message.
"""

from __future__ import annotations

import codecs
import email
import email.policy
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from typing import Any

import html2text
import nh3
from mailparser_reply import EmailReplyParser

from tierdesk.core.rendering import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, URL_SCHEMES

# Languages whose reply headers ("On ... wrote:", "Am ... schrieb:") and signatures are trimmed.
REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pt", "sv", "pl", "cs", "ja"]
# Charset labels seen in real mail that Python does not know, and what they mean.
CHARSET_ALIASES = {
    "unicode-1-1-utf-7": "utf-7",
    "x-unknown": "latin-1",
    "unknown-8bit": "latin-1",
    "x-user-defined": "latin-1",
    "ansi_x3.4-1968": "ascii",
    "iso-8859-8-i": "iso-8859-8",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",  # GB2312 mail is routinely GBK/GB18030 in practice
    "gbk": "gb18030",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
}
MAX_TEXT = 200_000  # characters of a body kept on the ticket; the raw message keeps the rest
MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")


@dataclass
class MailAttachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str = ""


@dataclass
class ParsedMail:
    message: Message
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    from_name: str = ""
    from_address: str = ""
    to: list[tuple[str, str]] = field(default_factory=list)
    cc: list[tuple[str, str]] = field(default_factory=list)
    subject: str = ""
    text: str = ""
    html: str = ""  # sanitised
    attachments: list[MailAttachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this one answers, nearest first."""
        seen: list[str] = []
        for mid in [*self.in_reply_to, *reversed(self.references)]:
            if mid not in seen:
                seen.append(mid)
        return seen

    def reply_text(self) -> str:
        """The new part of a reply: quoted history and the signature trimmed (the full text is kept)."""
        return trim_reply(self.text)

    def header(self, name: str) -> str:
        return header_text(self.message, name)


@dataclass(frozen=True)
class MailView:
    """What a person reading the original sees: the main headers, the full text, the sanitised HTML."""

    headers: list[tuple[str, str]]
    text: str
    html: str
    attachments: list[str]


def read_mail(raw: bytes) -> MailView:
    try:
        mail = parse(raw)
    except Exception:  # unreadable: show the bytes as text, which is what there is
        return MailView([], raw[:MAX_TEXT].decode("utf-8", "replace"), "", [])
    names = ("From", "To", "Cc", "Reply-To", "Date", "Subject", "Message-ID", "In-Reply-To")
    headers = [(name, value) for name in names if (value := header_text(mail.message, name))]
    return MailView(headers, mail.text, mail.html, [a.filename for a in mail.attachments])


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def parse(raw: bytes) -> ParsedMail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    mail = ParsedMail(message=message)
    mail.message_id = first_message_id(header_text(message, "Message-ID"))
    mail.in_reply_to = message_ids(header_text(message, "In-Reply-To"))
    mail.references = message_ids(header_text(message, "References"))
    senders = addresses(message, "From") or addresses(message, "Sender") or addresses(message, "Return-Path")
    if senders:
        mail.from_name, mail.from_address = senders[0]
    mail.to = addresses(message, "To")
    mail.cc = addresses(message, "Cc")
    mail.subject = " ".join(header_text(message, "Subject").split())
    text_part, html_part = _body_parts(message)
    html = decoded_text(html_part) if html_part is not None else ""
    if html:
        mail.html = sanitise_html(html)
    if text_part is not None:
        mail.text = decoded_text(text_part)
    elif html:
        mail.text = html_to_text(html)
    mail.text = _normalise(mail.text)[:MAX_TEXT]
    mail.attachments = _attachments(message, {id(text_part), id(html_part)})
    mail.defects = [type(defect).__name__ for defect in message.defects][:20]
    return mail


# --- headers ---------------------------------------------------------------------------------


def clean_text(value: str) -> str:
    """Text safe to store: raw 8-bit bytes the parser kept as surrogates are decoded (UTF-8, else
    cp1252), and NULs, which PostgreSQL refuses, are dropped."""
    if any("\udc80" <= char <= "\udcff" for char in value):
        data = value.encode("utf-8", "surrogateescape")
        try:
            value = data.decode("utf-8")
        except UnicodeDecodeError:
            value = data.decode("cp1252", "replace")
    return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def header_text(message: Message, name: str) -> str:
    """A header's decoded value, or its raw text when the modern parser chokes on it."""
    return clean_text(_header_value(message, name))


def _header_value(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:
        value = None
        for key, raw in message.raw_items() if hasattr(message, "raw_items") else []:
            if key.lower() == name.lower():
                value = raw
                break
    if value is None:
        return ""
    try:
        return str(value)
    except Exception:
        return repr(value)


def message_ids(value: str) -> list[str]:
    # Case is kept: ids are compared exactly with the ones we sent (and with earlier mail).
    return MESSAGE_ID.findall(value or "")[:50]


def first_message_id(value: str) -> str:
    ids = message_ids(value)
    if ids:
        return ids[0]
    bare = (value or "").strip()
    # Some senders omit the angle brackets; take the token if it looks like an id.
    return f"<{bare}>" if bare and " " not in bare and "@" in bare and len(bare) < 250 else ""


def addresses(message: Message, name: str) -> list[tuple[str, str]]:
    """(display name, lower-cased address) pairs of a header; junk entries are dropped."""
    found: list[tuple[str, str]] = []
    try:
        header = message.get(name)
        if header is not None and hasattr(header, "addresses"):
            for item in header.addresses:
                address = (item.addr_spec or "").strip().lower()
                if "@" in address and address != "<>":
                    found.append((" ".join(clean_text(str(item.display_name or "")).split()), clean_text(address)))
            return found
        raw = header_text(message, name)
    except Exception:
        raw = header_text(message, name)
    for display, address in email.utils.getaddresses([raw]):
        address = clean_text(address.strip().lower())
        if "@" in address:
            found.append((" ".join(display.split()), address))
    return found


# --- bodies ----------------------------------------------------------------------------------


def _body_parts(message: Message) -> tuple[Message | None, Message | None]:
    """The text/plain and text/html parts that make up the message's own body."""
    text_part: Message | None = None
    html_part: Message | None = None
    if isinstance(message, EmailMessage):
        try:
            text_part = message.get_body(preferencelist=("plain",))
            html_part = message.get_body(preferencelist=("html",))
        except Exception:
            text_part = html_part = None
    if text_part is None and html_part is None:
        for part in message.walk():
            if part.is_multipart() or _is_attachment(part):
                continue
            kind = part.get_content_type()
            if kind == "text/plain" and text_part is None:
                text_part = part
            elif kind == "text/html" and html_part is None:
                html_part = part
    if text_part is None and html_part is None and not message.is_multipart():
        kind = message.get_content_maintype()
        if kind == "text" or (message.get_content_type() == "application/octet-stream" and not _is_attachment(message)):
            text_part = message  # no or odd Content-Type: read it as text, the MIME default
    return text_part, html_part


def decoded_text(part: Message) -> str:
    """A text part's content, trying the declared charset, then its known aliases, then UTF-8, then cp1252."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if payload is None:
        raw = part.get_payload()
        return clean_text(raw) if isinstance(raw, str) else ""
    if not isinstance(payload, bytes):
        return clean_text(str(payload))
    declared = ""
    try:
        declared = (part.get_content_charset() or "").strip().strip("\"'").lower()
    except Exception:
        declared = ""
    for charset in _charsets(declared):
        try:
            return payload.decode(charset)
        except (UnicodeDecodeError, LookupError):
            continue
    return payload.decode("cp1252", errors="replace")


def _charsets(declared: str) -> list[str]:
    candidates = []
    if declared:
        candidates.append(CHARSET_ALIASES.get(declared, declared))
        try:
            codecs.lookup(candidates[-1])
        except LookupError:
            candidates.pop()
    return [*candidates, "utf-8"]


def sanitise_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def html_to_text(html: str) -> str:
    converter = html2text.HTML2Text()
    converter.body_width = 0  # no hard wrapping: the console wraps
    converter.ignore_images = True
    converter.ignore_emphasis = True
    try:
        return converter.handle(html)
    except Exception:
        return nh3.clean(html, tags=set())


def trim_reply(text: str) -> str:
    if not text.strip():
        return text
    try:
        parsed = EmailReplyParser(languages=REPLY_LANGUAGES).read(text)
        latest = parsed.replies[0].body if parsed.replies else ""
    except Exception:
        return text
    latest = _normalise(latest or "")
    return latest if latest.strip() else text


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- attachments -----------------------------------------------------------------------------


def _is_attachment(part: Message) -> bool:
    try:
        disposition = (part.get_content_disposition() or "").lower()
        filename = part.get_filename()
    except Exception:
        return False
    return disposition == "attachment" or bool(filename)


def _attachments(message: Message, body_ids: set[int]) -> list[MailAttachment]:
    found: list[MailAttachment] = []
    for part in _leaves(message):
        if id(part) in body_ids:
            continue
        kind = part.get_content_type()
        if kind == "message/rfc822" or kind == "message/global":
            name = _filename(part) or "attached-message.eml"
            found.append(MailAttachment(name, "message/rfc822", _embedded_bytes(part)))
            continue
        if kind.startswith("text/") and not _is_attachment(part):
            continue  # an alternative body we already have, or a delivery report's text
        if kind.startswith("message/"):
            continue  # delivery-status and similar: read by the bounce check, not stored
        try:
            data: Any = part.get_payload(decode=True) or b""
        except Exception:
            data = b""
        if not isinstance(data, bytes) or not data:
            continue
        content_id = header_text(part, "Content-ID").strip().strip("<>")
        disposition = ""
        try:
            disposition = (part.get_content_disposition() or "").lower()
        except Exception:
            disposition = ""
        name = _filename(part) or _default_name(kind, len(found) + 1)
        found.append(
            MailAttachment(name, kind, data, inline=disposition == "inline" or bool(content_id), content_id=content_id)
        )
    return found


def _leaves(message: Message) -> list[Message]:
    """Leaf parts, not descending into attached messages (they are kept whole)."""
    leaves: list[Message] = []
    stack: list[Any] = [message]
    while stack:
        part = stack.pop(0)
        kind = part.get_content_type()
        if kind in ("message/rfc822", "message/global") and part is not message:
            leaves.append(part)
            continue
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                stack[0:0] = payload
            continue
        leaves.append(part)
    return leaves


def _embedded_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, list) and payload:
        inner: Any = payload[0]
        try:
            return bytes(inner.as_bytes(policy=email.policy.default.clone(linesep="\r\n")))
        except Exception:
            return str(inner).encode("utf-8", "replace")
    if isinstance(payload, str):
        return payload.encode("utf-8", "replace")
    return b""


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    return " ".join(str(name).split())[:200]


def _default_name(content_type: str, number: int) -> str:
    extension = {
        "image/png": ".png",
        "image/jpeg": ".jpg",
        "image/gif": ".gif",
        "application/pdf": ".pdf",
        "text/calendar": ".ics",
    }.get(content_type, ".bin")
    return f"attachment-{number}{extension}"
