"""What every page of the desk's web interface shares."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect

View = Callable[..., HttpResponseBase]


def agent_required(view: View) -> View:
    """Console pages are for agents, supervisors and admins; requesters are sent away."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not getattr(user, "is_agent_side", False):
            if request.method == "GET" and not getattr(request, "htmx", False):
                return redirect("home")
            raise PermissionDenied("The console is for agents.")
        return view(request, *args, **kwargs)

    return wrapper
