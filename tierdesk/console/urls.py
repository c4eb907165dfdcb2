from django.urls import include, path

from tierdesk.console import major_incidents, views

app_name = "console"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("counts/", views.queue_counts, name="counts"),
    path("bulk/", views.bulk, name="bulk"),
    path("views/", views.save_view, name="save_view"),
    path("views/<int:view_id>/delete/", views.delete_view, name="delete_view"),
    path("calls/new/", views.log_call, name="log_call"),
    path("calls/callers/", views.caller_search, name="caller_search"),
    path("calls/callers/<int:pk>/", views.caller_card, name="caller_card"),
    path("tickets/<str:number>/", views.ticket_page, name="ticket"),
    path("tickets/<str:number>/regions/", views.regions, name="regions"),
    path("tickets/<str:number>/status/", views.change_status, name="status"),
    path("tickets/<str:number>/priority/", views.change_priority, name="priority"),
    path("tickets/<str:number>/category/", views.change_category, name="category"),
    path("tickets/<str:number>/group/", views.change_group, name="group"),
    path("tickets/<str:number>/assignee/", views.change_assignee, name="assignee"),
    path("tickets/<str:number>/assign-to-me/", views.assign_to_me, name="assign_to_me"),
    path("tickets/<str:number>/escalate/", views.escalate, name="escalate"),
    path("tickets/<str:number>/vendor/", views.send_to_vendor, name="vendor"),
    path("tickets/<str:number>/engineering/", views.send_to_engineering, name="engineering"),
    path("tickets/<str:number>/watch/", views.watch, name="watch"),
    path("tickets/<str:number>/compose/", views.compose, name="compose"),
    path("tickets/<str:number>/attachments/", views.upload, name="upload"),
    path("tickets/<str:number>/emails/<int:record_id>/", views.email_original, name="email"),
    path("tickets/<str:number>/major-incident/declare/", major_incidents.declare, name="mi_declare"),
    path("tickets/<str:number>/major-incident/attach/", major_incidents.attach, name="mi_attach"),
    path("tickets/<str:number>/major-incident/confirm/", major_incidents.confirm, name="mi_confirm"),
    path("tickets/<str:number>/major-incident/detach/", major_incidents.detach, name="mi_detach"),
    path("tickets/<str:number>/major-incident/update/", major_incidents.post_update, name="mi_update"),
    path("tickets/<str:number>/major-incident/resolve/", major_incidents.resolve, name="mi_resolve"),
    path("tickets/<str:number>/merge/", major_incidents.merge, name="merge"),
    # Problems and known errors (tierdesk.problems).
    path(
        "tickets/<str:number>/known-errors/<int:known_error_id>/apply/",
        views.apply_known_error,
        name="apply_known_error",
    ),
    path(
        "tickets/<str:number>/articles/<int:article_id>/insert/",
        views.insert_article,
        name="insert_article",
    ),
    path("problems/", include("tierdesk.problems.urls")),
]
