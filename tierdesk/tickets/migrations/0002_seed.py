"""Seed the category tree, the ITIL priority matrix and the ticket number counters."""

from django.db import migrations

CATEGORIES = {
    "Hardware": ["Laptop", "Desktop", "Monitor", "Printer", "Mobile device", "Peripheral"],
    "Software": ["Operating system", "Office suite", "E-mail client", "Business application", "Installation request", "Licence"],
    "Network": ["Wi-Fi", "VPN", "LAN / switching", "Internet access", "DNS / DHCP", "Firewall"],
    "Accounts & access": ["Password reset", "Account lockout", "New account", "Permissions", "Multi-factor authentication"],
    "Endpoint security": ["Malware", "Phishing report", "Antivirus", "Disk encryption", "Patch management"],
}

MATRIX = {
    ("high", "high"): 1, ("high", "medium"): 2, ("medium", "high"): 2,
    ("high", "low"): 3, ("medium", "medium"): 3, ("low", "high"): 3,
    ("medium", "low"): 4, ("low", "medium"): 4, ("low", "low"): 5,
}


def seed(apps, schema_editor):
    Category = apps.get_model("tickets", "Category")
    PriorityRule = apps.get_model("tickets", "PriorityRule")
    Sequence = apps.get_model("tickets", "TicketNumberSequence")
    for root_name, children in CATEGORIES.items():
        root, _ = Category.objects.get_or_create(parent=None, name=root_name, defaults={"path": root_name})
        for child in children:
            Category.objects.get_or_create(parent=root, name=child, defaults={"path": f"{root_name} / {child}"})
    for (impact, urgency), priority in MATRIX.items():
        PriorityRule.objects.get_or_create(impact=impact, urgency=urgency, defaults={"priority": priority})
    for ticket_type in ("incident", "service_request"):
        Sequence.objects.get_or_create(ticket_type=ticket_type, defaults={"last_value": 1000})


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
