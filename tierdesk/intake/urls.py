from django.urls import path

from tierdesk.intake import views

app_name = "intake"

urlpatterns = [
    path("engineering/<int:tracker_id>/", views.engineering_webhook, name="engineering-webhook"),
]
