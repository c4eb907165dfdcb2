"""The knowledge base's pages, under /kb/: the portal's help articles, and /kb/console/ for agents."""

from django.urls import path

from tierdesk.knowledge import views

app_name = "knowledge"

urlpatterns = [
    # Portal (requesters).
    path("", views.portal_home, name="portal_home"),
    path("search/", views.portal_search, name="portal_search"),
    path("suggest/", views.deflect, name="deflect"),
    # Console (agents); before the article slugs so "console" is never read as one.
    path("console/", views.console_list, name="console_list"),
    path("console/new/", views.console_create, name="console_create"),
    path("console/<int:pk>/", views.console_detail, name="console_detail"),
    path("console/<int:pk>/edit/", views.console_edit, name="console_edit"),
    path("console/<int:pk>/status/", views.console_status, name="console_status"),
    path(
        "console/known-errors/<int:pk>/publish/",
        views.publish_known_error,
        name="publish_known_error",
    ),
    path("<slug:slug>/", views.portal_article, name="portal_article"),
    path("<slug:slug>/feedback/", views.feedback, name="feedback"),
]
