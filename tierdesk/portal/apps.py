from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The self-service portal: where requesters open, follow and rate their tickets."""

    name = "tierdesk.portal"
    label = "portal"
