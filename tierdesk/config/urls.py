from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from tierdesk.accounts.api.views import ApiTokenViewSet, PersonViewSet, SupportGroupViewSet
from tierdesk.accounts.views import home
from tierdesk.core.api import api_not_found
from tierdesk.knowledge.api.views import ArticleViewSet, KnowledgeSearchViewSet
from tierdesk.problems.api.views import KnownErrorViewSet, ProblemViewSet
from tierdesk.reporting.api.views import ReportViewSet
from tierdesk.routing.api.views import TicketEscalationViewSet
from tierdesk.tenancy.api.views import OrganisationViewSet, SiteViewSet
from tierdesk.tickets.api.views import CategoryViewSet, TicketViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
# No `.json`-style suffix routes: the schema does not document them, content negotiation
# (Accept) covers the need, and the handlers take only their lookup, not a `format` argument.
router.include_format_suffixes = False
router.register("tickets", TicketViewSet, basename="ticket")
router.register("tickets", TicketEscalationViewSet, basename="ticket-routing")
router.register("organisations", OrganisationViewSet, basename="organisation")
router.register("sites", SiteViewSet, basename="site")
router.register("people", PersonViewSet, basename="person")
router.register("support-groups", SupportGroupViewSet, basename="support-group")
router.register("categories", CategoryViewSet, basename="category")
router.register("tokens", ApiTokenViewSet, basename="token")
router.register("reports", ReportViewSet, basename="report")
router.register("problems", ProblemViewSet, basename="problem")
router.register("known-errors", KnownErrorViewSet, basename="known-error")
router.register("kb/articles", ArticleViewSet, basename="kb-article")
router.register("kb/search", KnowledgeSearchViewSet, basename="kb-search")

api_v1 = ([*router.urls, path("<path:rest>", api_not_found)], "api")

urlpatterns = [
    path("", home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tickets/", include("tierdesk.tickets.urls")),
    path("console/", include("tierdesk.console.urls")),
    path("portal/", include("tierdesk.portal.urls")),
    path("reports/", include("tierdesk.reporting.urls")),
    path("notifications/", include("tierdesk.notifications.urls")),
    path("kb/", include("tierdesk.knowledge.urls")),
    path("selfservice/", include("tierdesk.selfservice.urls")),
    # Signed webhooks from engineering trackers: no login, outside the API and its tenant walk.
    path("hooks/", include("tierdesk.intake.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]

handler500 = "tierdesk.core.api.server_error"
