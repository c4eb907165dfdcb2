from django.urls import path

from tierdesk.reporting import views

app_name = "reporting"

urlpatterns = [
    path("sla/", views.sla_report, name="sla"),
    path("sla/export.csv", views.sla_report_csv, name="sla_csv"),
    path("tiers/", views.tier_report, name="tiers"),
    path("tier0/", views.tier0_report, name="tier0"),
]
