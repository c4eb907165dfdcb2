from django.contrib import admin

from tierdesk.audit.admin_mixins import AuditedModelAdmin
from tierdesk.tenancy.models import Department, Organisation, Site


class SiteInline(admin.TabularInline):
    model = Site
    extra = 0
    fk_name = "organisation"


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0
    fk_name = "organisation"


@admin.register(Organisation)
class OrganisationAdmin(AuditedModelAdmin):
    list_display = ("name", "kind", "provider", "has_regulated_systems", "is_active")
    list_filter = ("kind", "has_regulated_systems", "is_active")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [SiteInline, DepartmentInline]
