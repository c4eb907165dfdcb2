"""Problem pages, under the console: /console/problems/ (see console/urls.py)."""

from django.urls import path

from tierdesk.problems import views

app_name = "problems"

urlpatterns = [
    path("", views.problem_list, name="list"),
    path("new/", views.problem_create, name="create"),
    path("known-errors/<int:pk>/", views.known_error_update, name="known_error"),
    path("<str:number>/", views.problem_detail, name="detail"),
    path("<str:number>/status/", views.problem_status, name="status"),
    path("<str:number>/root-cause/", views.problem_root_cause, name="root_cause"),
    path("<str:number>/owner/", views.problem_owner, name="owner"),
    path("<str:number>/notes/", views.problem_note, name="note"),
    path("<str:number>/incidents/", views.problem_link, name="link"),
    path("<str:number>/incidents/<str:ticket_number>/unlink/", views.problem_unlink, name="unlink"),
    path("<str:number>/known-errors/", views.known_error_create, name="known_errors"),
]
