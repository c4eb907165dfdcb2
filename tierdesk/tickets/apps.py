from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tierdesk.tickets"
    label = "tickets"
