from django.apps import AppConfig


class CmdbConfig(AppConfig):
    name = "tierdesk.cmdb"
    label = "cmdb"
    verbose_name = "Services and configuration items"
