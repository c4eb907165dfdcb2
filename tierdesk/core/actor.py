"""Who is acting, and from where. Every service takes one as its keyword-only `actor`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.http import HttpRequest

    from tierdesk.accounts.models import User


@dataclass
class Actor:
    user: User | None
    ip: str | None = None
    via: str = "web"  # web, api, email, monitoring, system, command
    name: str = ""  # who, when there is no login: e.g. the sender of an e-mail ("Anna <anna@client.example>")

    @classmethod
    def system(cls, via: str = "system") -> Actor:
        return cls(user=None, via=via)

    @classmethod
    def from_request(cls, request: HttpRequest, via: str = "web") -> Actor:
        user = request.user if request.user.is_authenticated else None
        return cls(user=user, ip=client_ip(request), via=via)

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user is not None else None

    @property
    def label(self) -> str:
        if self.user is not None:
            return self.user.email
        return self.name or self.via


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is trivially forged unless a proxy is configured,
    # and a forged address in the audit trail is worse than the proxy's address.
    return request.META.get("REMOTE_ADDR") or None
