"""People (requesters), agents, support groups and personal API tokens."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from tierdesk.accounts import services
from tierdesk.accounts.models import ApiToken, Requester, SupportGroup
from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor
from tierdesk.core.api import ScopedPrimaryKeyField, ScopedViewSet, StrictInputSerializer
from tierdesk.tenancy.models import Department, Organisation, Site


class RequesterSerializer(serializers.ModelSerializer):
    # Read-only model fields lose `allow_blank`; declared so the schema allows "" (phone-only requesters).
    email = serializers.EmailField(allow_blank=True, read_only=True)
    has_login = serializers.SerializerMethodField()

    class Meta:
        model = Requester
        fields = [
            "id",
            "organisation",
            "name",
            "email",
            "phone",
            "site",
            "department",
            "timezone",
            "language",
            "is_org_manager",
            "is_vip",
            "is_active",
            "has_login",
            "created_at",
        ]
        read_only_fields = fields

    def get_has_login(self, requester: Requester) -> bool:
        return requester.user_id is not None


def _orgs(actor: Actor) -> QuerySet[Organisation]:
    return Organisation.objects.within(scope_for(actor).organisation_ids)


def _sites(actor: Actor) -> QuerySet[Site]:
    return Site.objects.within(scope_for(actor).organisation_ids)


def _departments(actor: Actor) -> QuerySet[Department]:
    return Department.objects.within(scope_for(actor).organisation_ids)


class RequesterCreateInput(StrictInputSerializer):
    organisation = ScopedPrimaryKeyField(model=Organisation, scoped=_orgs)
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    phone = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    site = ScopedPrimaryKeyField(model=Site, scoped=_sites, required=False, allow_null=True)
    department = ScopedPrimaryKeyField(model=Department, scoped=_departments, required=False, allow_null=True)
    timezone = serializers.CharField(required=False, default="UTC", max_length=64)
    language = serializers.CharField(required=False, default="en", max_length=16)
    is_vip = serializers.BooleanField(required=False, default=False)


class RequesterUpdateInput(StrictInputSerializer):
    name = serializers.CharField(max_length=200, required=False)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    site = ScopedPrimaryKeyField(model=Site, scoped=_sites, required=False, allow_null=True)
    department = ScopedPrimaryKeyField(model=Department, scoped=_departments, required=False, allow_null=True)
    timezone = serializers.CharField(required=False, max_length=64)
    language = serializers.CharField(required=False, max_length=16)
    is_vip = serializers.BooleanField(required=False)


@extend_schema(tags=["people"])
class PersonViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Requesters: the people the desk serves (with or without a portal login)."""

    queryset = Requester.objects.none()
    serializer_class = RequesterSerializer

    def scoped_queryset(self, actor: Actor) -> QuerySet[Requester]:
        return Requester.objects.visible_to(actor)

    @extend_schema(request=RequesterCreateInput, responses={201: RequesterSerializer})
    def create(self, request: Request) -> Response:
        data = RequesterCreateInput(data=request.data, context={"actor": self.actor})
        data.is_valid(raise_exception=True)
        requester = services.create_requester(actor=self.actor, **data.validated_data)
        return Response(RequesterSerializer(requester).data, status=201)

    @extend_schema(request=RequesterUpdateInput, responses={200: RequesterSerializer})
    def partial_update(self, request: Request, pk: str) -> Response:
        requester = self.get_object()
        data = RequesterUpdateInput(data=request.data, context={"actor": self.actor}, partial=True)
        data.is_valid(raise_exception=True)
        requester = services.update_requester(
            actor=self.actor, requester=requester, changes=services.RequesterChanges(**data.validated_data)
        )
        return Response(RequesterSerializer(requester).data)


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="agent.id")
    name = serializers.CharField(source="agent.full_name")
    is_lead = serializers.BooleanField()


class SupportGroupSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(allow_blank=True, read_only=True)  # "" when the group has no mailbox
    members = MemberSerializer(source="memberships", many=True)
    serves = serializers.PrimaryKeyRelatedField[Organisation](many=True, read_only=True)

    class Meta:
        model = SupportGroup
        fields = ["id", "name", "tier", "email", "description", "is_vendor", "is_active", "serves", "members"]
        read_only_fields = fields


@extend_schema(tags=["support groups"])
class SupportGroupViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = SupportGroup.objects.none()
    serializer_class = SupportGroupSerializer

    def scoped_queryset(self, actor: Actor) -> QuerySet[SupportGroup]:
        return SupportGroup.objects.visible_to(actor).prefetch_related("serves", "memberships__agent")


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
        read_only_fields = fields


class IssuedTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(help_text="The secret. Shown once; store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class TokenCreateInput(StrictInputSerializer):
    name = serializers.CharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


@extend_schema(tags=["tokens"])
class ApiTokenViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Your personal API tokens. Deleting one revokes it."""

    queryset = ApiToken.objects.none()
    serializer_class = ApiTokenSerializer

    def scoped_queryset(self, actor: Actor) -> QuerySet[ApiToken]:
        # A person's own tokens only, whatever their role.
        return actor.user.api_tokens.all() if actor.user else ApiToken.objects.none()

    @extend_schema(request=TokenCreateInput, responses={201: IssuedTokenSerializer})
    def create(self, request: Request) -> Response:
        data = TokenCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        assert self.actor.user is not None
        token, raw = services.issue_api_token(actor=self.actor, user=self.actor.user, **data.validated_data)
        body: dict[str, Any] = dict(ApiTokenSerializer(token).data)
        body["token"] = raw
        return Response(body, status=201)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        services.revoke_api_token(actor=self.actor, token=self.get_object())
        return Response(status=204)
