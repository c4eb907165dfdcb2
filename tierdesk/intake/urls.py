from django.urls import path

from tierdesk.intake import views
from tierdesk.intake.alerts.views import alert_webhook

app_name = "intake"

urlpatterns = [
    path("engineering/<int:tracker_id>/", views.engineering_webhook, name="engineering-webhook"),
    path("alerts/<int:source_id>/", alert_webhook, name="alert-webhook"),
]
