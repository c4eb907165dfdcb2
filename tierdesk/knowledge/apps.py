from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "tierdesk.knowledge"
    label = "knowledge"
    verbose_name = "Knowledge base"
