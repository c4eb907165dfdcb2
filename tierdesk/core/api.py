"""API base classes: problem details, strict input, stable pagination, scoped viewsets.

Every API endpoint builds on these so that no handler can forget tenant scoping or
produce an error that is not an RFC 9457 problem document.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import server_error as django_server_error
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, IllegalTransition, StaleVersion

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Permission denied",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    413: "Payload too large",
    415: "Unsupported media type",
    428: "Precondition required",
    429: "Too many requests",
}


def problem(status_code: int, detail: str, title: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or _TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
    }
    body.update(extra)
    return body


def _flatten_detail(detail: Any) -> str:
    """A readable one-line summary of DRF's nested error structure."""
    if isinstance(detail, dict):
        parts = []
        for key, value in detail.items():
            text = _flatten_detail(value)
            parts.append(text if key == "non_field_errors" else f"{key}: {text}")
        return "; ".join(parts)
    if isinstance(detail, list):
        return " ".join(_flatten_detail(item) for item in detail)
    return str(detail)


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler producing RFC 9457 problem details for every error."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("No such object, or you may not see it.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        extra: dict[str, Any] = {}
        if isinstance(exc, IllegalTransition):
            extra["allowed"] = exc.allowed
        if isinstance(exc, StaleVersion):
            extra["current_version"] = exc.current_version
        body = problem(exc.status_code, exc.detail, exc.title, **extra)
        code = exc.status_code
    elif isinstance(exc, exceptions.APIException):
        code = exc.status_code
        if isinstance(exc, exceptions.ValidationError):
            errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            body = problem(code, _flatten_detail(exc.detail), "Invalid input", errors=errors)
        else:
            body = problem(code, _flatten_detail(exc.detail))
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
    else:
        return None  # a real bug: let Django log it and answer 500

    request = context.get("request")
    renderer = getattr(request, "accepted_renderer", None)
    content_type = PROBLEM_CONTENT_TYPE if renderer is None or isinstance(renderer, JSONRenderer) else None
    return Response(body, status=code, headers=headers, content_type=content_type)


# Exempt like every DRF view: an unknown API path answers a 404 problem for every method,
# not Django's HTML "CSRF verification failed" page for POST, PATCH and DELETE.
@csrf_exempt
def api_not_found(request: HttpRequest, exception: Exception | None = None, **kwargs: Any) -> JsonResponse:
    return JsonResponse(problem(404, f"No API route {request.path}."), status=404, content_type=PROBLEM_CONTENT_TYPE)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: API clients get a problem document, browsers Django's error page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            problem(500, "Internal error; it has been logged.", "Internal server error"),
            status=500,
            content_type=PROBLEM_CONTENT_TYPE,
        )
    return django_server_error(request)


class ProblemSerializer(serializers.Serializer):
    """The body of every error response (RFC 9457)."""

    # Describes what `problem()` builds, for the schema; nothing is validated or rendered with it.
    def get_fields(self) -> dict[str, serializers.Field]:
        # Declared here, not as class attributes: a field named `errors` would shadow Serializer.errors.
        return {
            "type": serializers.CharField(help_text='Always "about:blank": the status code says what went wrong.'),
            "title": serializers.CharField(),
            "status": serializers.IntegerField(),
            "detail": serializers.CharField(help_text="What went wrong, readable by a person."),
            "errors": serializers.DictField(
                child=serializers.JSONField(), required=False, help_text="Invalid input (400): messages per field."
            ),
            "allowed": serializers.ListField(
                child=serializers.CharField(), required=False, help_text="Illegal transition (409): statuses allowed."
            ),
            "current_version": serializers.IntegerField(
                required=False, help_text="Stale version (412): the version to reload and retry with."
            ),
        }


PROBLEM = OpenApiResponse(response=ProblemSerializer, description="Problem details (RFC 9457)")

_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ProblemAutoSchema(AutoSchema):
    """Documents the problem-details responses every operation can give, in their real media type.

    Views declare only the errors particular to them (409, 412, 413, 428, ...); the ones that
    follow from the base classes are added here, and every 4xx body is the Problem component
    served as `application/problem+json`, exactly what `problem_exception_handler` sends.
    """

    def get_description(self) -> str:  # type: ignore[override]  # drf-spectacular's signature, not DRF's
        description: str = super().get_description()
        # Docstrings are inherited: a viewset without one must not publish ScopedViewSet's internals.
        return "" if description == get_doc(ScopedViewSet) else description

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation: dict[str, Any] | None = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses: dict[str, Any] = operation.setdefault("responses", {})
        locations = {parameter.get("in") for parameter in operation.get("parameters", [])}
        expected = {401}  # every endpoint needs an authenticated user
        if "requestBody" in operation or "query" in locations:
            expected.add(400)  # invalid body, filter or page size
        if "path" in locations or "query" in locations:
            expected.add(404)  # unknown or invisible object, or a stale pagination cursor
        if self.method in _UNSAFE_METHODS:
            expected.add(403)  # CSRF for session clients, or a service refusing the actor
        if "requestBody" in operation:
            expected.add(415)
        for missing in expected:
            responses.setdefault(str(missing), {})
        for code, response in responses.items():
            if code.isdigit() and 400 <= int(code) < 500:
                description = _TITLES.get(int(code)) or response.get("description")
                response.clear()
                response.update(self._get_response_for_code(PROBLEM, code, [PROBLEM_CONTENT_TYPE]))
                if description:
                    response["description"] = description
        operation["responses"] = dict(sorted(responses.items()))
        return operation


class StrictInputSerializer(serializers.Serializer):
    """Input validator that refuses fields it does not know, instead of ignoring them."""

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class ScopedViewSet(GenericViewSet):
    """Base for every API viewset: the queryset always comes from `scoped_queryset(actor)`.

    Subclasses cannot forget tenant scoping: `get_queryset` is final here and a lookup
    that falls outside the actor's scope is a 404, never a 403 that would leak existence.
    """

    api_actor_via: ClassVar[str] = "api"
    schema = ProblemAutoSchema()

    @property
    def actor(self) -> Actor:
        cached = getattr(self, "_actor", None)
        if cached is None:
            cached = Actor.from_request(self.request, via=self.api_actor_via)
            self._actor = cached
        return cached

    def scoped_queryset(self, actor: Actor) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            return self.scoped_queryset_for_schema()
        return self.scoped_queryset(self.actor)

    def scoped_queryset_for_schema(self) -> QuerySet[Any]:
        model = self.queryset.model if self.queryset is not None else None
        if model is None:
            raise NotImplementedError
        return model._default_manager.none()


class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """A reference by id that only accepts objects the acting person may see.

    A reference to another organisation's object reads as "does not exist", exactly like
    a wrong id, so writes cannot probe for or attach foreign objects.
    """

    def __init__(self, *, scoped: Any, **kwargs: Any) -> None:
        self.scoped = scoped  # callable(actor) -> queryset
        super().__init__(queryset=kwargs.pop("model")._default_manager.none(), **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        actor = self.context.get("actor")
        if actor is None:
            raise RuntimeError("ScopedPrimaryKeyField needs the actor in the serializer context")
        return self.scoped(actor)


class DownloadRenderer(JSONRenderer):
    """Lets file downloads negotiate any Accept header; errors still render as JSON."""

    media_type = "*/*"
    format = "download"
