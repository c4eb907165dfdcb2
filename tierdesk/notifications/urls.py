from django.urls import path

from tierdesk.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("badge/", views.unread_badge, name="badge"),
    path("read/", views.mark_read, name="mark_read"),
]
