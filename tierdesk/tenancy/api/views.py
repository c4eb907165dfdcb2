"""Organisations and sites, read-only through the API (admins configure them in the admin)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers

from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor
from tierdesk.core.api import ScopedViewSet
from tierdesk.tenancy.models import Organisation, Site


class OrganisationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = [
            "id",
            "name",
            "slug",
            "kind",
            "provider",
            "email_domain",
            "timezone",
            "has_regulated_systems",
            "is_active",
            "created_at",
        ]
        read_only_fields = fields


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["id", "organisation", "name", "address", "timezone", "created_at"]
        read_only_fields = fields


@extend_schema(tags=["organisations"])
class OrganisationViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = Organisation.objects.none()
    serializer_class = OrganisationSerializer

    def scoped_queryset(self, actor: Actor) -> QuerySet[Organisation]:
        return Organisation.objects.within(scope_for(actor).member_organisation_ids)


@extend_schema(tags=["organisations"])
class SiteViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = Site.objects.none()
    serializer_class = SiteSerializer

    def scoped_queryset(self, actor: Actor) -> QuerySet[Site]:
        return Site.objects.within(scope_for(actor).member_organisation_ids)
