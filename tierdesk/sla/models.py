"""Business calendars, SLA policies and targets, and the stored clocks the sweep reads."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models

from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor
from tierdesk.core.models import TenantModel
from tierdesk.sla.calendar import WorkingTime, WorkingWindow, public_holidays
from tierdesk.sla.clocks import ClockState
from tierdesk.tickets.choices import TicketType


class BusinessCalendar(TenantModel):
    """Working hours of a provider (or of one contract), with its holidays. Owned by the provider."""

    name = models.CharField(max_length=120)
    timezone = models.CharField(max_length=64, default="UTC")
    always_open = models.BooleanField(default=False, help_text="24x7: every hour counts.")
    holiday_country = models.CharField(max_length=8, blank=True, help_text="e.g. GB, US, AU")
    holiday_subdivision = models.CharField(max_length=8, blank=True, help_text="e.g. ENG, NY, NSW")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="calendar_unique_name")]

    def __str__(self) -> str:
        return self.name

    def working_time(self, years: Iterable[int]) -> WorkingTime:
        """The pure calendar for business-time arithmetic over these years."""
        years = list(years)
        holidays = {h.date for h in self.custom_holidays.all()}
        if self.holiday_country:
            holidays |= public_holidays(self.holiday_country, years, self.holiday_subdivision or None)
        windows = tuple(WorkingWindow(h.weekday, h.start, h.end) for h in self.hours.all())
        return WorkingTime(self.timezone, windows, frozenset(holidays), always_open=self.always_open)


class WorkingHours(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(help_text="0 = Monday ... 6 = Sunday")
    start = models.TimeField()
    end = models.TimeField(null=True, blank=True, help_text="Empty means midnight at the end of the day.")

    class Meta:
        ordering = ["weekday", "start"]
        verbose_name_plural = "working hours"

    def __str__(self) -> str:
        return f"{self.weekday}: {self.start}-{self.end or '24:00'}"


class CalendarHoliday(models.Model):
    """A closed day of this calendar besides the public holidays (e.g. a company day)."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="custom_holidays")
    date = models.DateField()
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="calendar_holiday_unique")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class TargetKind(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    RESOLUTION = "resolution", "Resolution"
    TIER_1 = "tier_1", "Time at Tier 1"
    TIER_2 = "tier_2", "Time at Tier 2"
    TIER_3 = "tier_3", "Time at Tier 3"
    TIER_4 = "tier_4", "Time at Tier 4"
    VENDOR = "vendor", "Vendor (underpinning contract)"
    ENGINEERING = "engineering", "Engineering (hand-off)"


class SlaPolicy(TenantModel):
    """Which tickets a set of targets applies to. The first active matching policy (by order) wins.

    Empty conditions match everything: a policy with none is the provider's default.
    """

    name = models.CharField(max_length=120)
    order = models.PositiveIntegerField(default=100)
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="policies")
    client_organisations = models.ManyToManyField("tenancy.Organisation", blank=True, related_name="+")
    ticket_type = models.CharField(max_length=32, choices=TicketType.choices, blank=True)
    categories = models.ManyToManyField("tickets.Category", blank=True, related_name="+")
    priorities: Any = models.JSONField(default=list, blank=True, help_text="e.g. [1, 2]; empty: any priority.")
    pause_statuses: Any = models.JSONField(
        default=list, blank=True, help_text="Statuses that stop the clocks, e.g. pending_customer."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name


class SlaTarget(models.Model):
    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets")
    kind = models.CharField(max_length=24, choices=TargetKind.choices)
    priority = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: any priority.")
    minutes = models.PositiveIntegerField(help_text="Business minutes on the policy's calendar.")
    warn_at_percent: Any = models.JSONField(default=list, blank=True, help_text="e.g. [75, 90]")

    class Meta:
        ordering = ["kind", "priority"]
        constraints = [models.UniqueConstraint(fields=["policy", "kind", "priority"], name="target_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} P{self.priority or '*'}: {self.minutes} min"


class SlaAction(models.Model):
    """What the desk does when a target's warning or breach is raised (in order, each once)."""

    class Trigger(models.TextChoices):
        WARNING = "warning", "On warning"
        BREACH = "breach", "On breach"

    class Kind(models.TextChoices):
        NOTIFY_ASSIGNEE = "notify_assignee", "Notify the assignee"
        NOTIFY_GROUP_LEAD = "notify_group_lead", "Notify the group lead"
        NOTIFY_SUPERVISOR = "notify_supervisor", "Notify the supervisors"
        REASSIGN = "reassign", "Reassign to a support group"
        RAISE_PRIORITY = "raise_priority", "Raise the priority one step"
        ESCALATE = "escalate", "Escalate to the next tier"

    target = models.ForeignKey(SlaTarget, on_delete=models.CASCADE, related_name="actions")
    trigger = models.CharField(max_length=8, choices=Trigger.choices)
    percent = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Only at this warning threshold; empty: at every warning."
    )
    action = models.CharField(max_length=24, choices=Kind.choices)
    reassign_to = models.ForeignKey(
        "accounts.SupportGroup", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["target", "trigger", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(action="reassign") | models.Q(reassign_to__isnull=False),
                name="sla_action_reassign_needs_group",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()}: {self.get_action_display()}"

    def applies_to(self, kind: str, percent: int) -> bool:
        if self.trigger != kind:
            return False
        return kind == self.Trigger.BREACH or self.percent is None or self.percent == percent


class SlaClockQuerySet(models.QuerySet["SlaClock"]):
    def visible_to(self, actor: Actor) -> SlaClockQuerySet:
        """Clocks of the tickets of the organisations the actor sees in full."""
        return self.filter(organisation_id__in_scope=scope_for(actor).organisation_ids)

    def of_ticket(self, ticket: Any) -> SlaClockQuerySet:
        return self.filter(ticket=ticket)

    def shown(self) -> SlaClockQuerySet:
        """The clocks a ticket page lists: not cancelled, the most pressing first."""
        return self.exclude(state=ClockState.CANCELLED).order_by(models.F("due_at").asc(nulls_last=True), "kind")

    def due_for_sweep(self, at: Any) -> SlaClockQuerySet:
        """Running clocks that must breach or warn by `at`: two indexed range scans."""
        # A clock stopped before any sweep saw it breach keeps its state for reports; raising
        # an alarm on a ticket that is already resolved would only be noise.
        breach_due = models.Q(
            state__in=[ClockState.RUNNING, ClockState.BREACHED],
            stopped_at__isnull=True,
            breach_raised=False,
            due_at__lte=at,
        )
        warning_due = models.Q(state=ClockState.RUNNING, next_warning_at__lte=at)
        return self.filter(breach_due | warning_due)


class SlaClock(TenantModel):
    """The stored reading of one clock of one ticket, so due times are indexed queries."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="sla_clocks")
    policy = models.ForeignKey(SlaPolicy, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=24, choices=TargetKind.choices)
    owner = models.CharField(max_length=120, help_text="Whose clock: the desk, Tier 2, ...")
    state = models.CharField(max_length=16, choices=ClockState.choices)
    target_seconds = models.PositiveIntegerField()
    elapsed_seconds = models.PositiveIntegerField()
    due_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    next_warning_at = models.DateTimeField(null=True, blank=True)
    next_warning_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    # Written by the sweep only (a recompute keeps them), so no event is lost or repeated.
    warned_percent = models.PositiveSmallIntegerField(default=0)
    breach_raised = models.BooleanField(default=False)
    computed_at = models.DateTimeField()

    objects = SlaClockQuerySet.as_manager()

    class Meta:
        ordering = ["due_at"]
        constraints = [models.UniqueConstraint(fields=["ticket", "kind"], name="clock_unique_kind")]
        indexes = [
            # Only clocks whose breach is still to be raised: the index stays the size of the work
            # ahead, however many breaches a desk has raised over the years.
            models.Index(
                fields=["state", "due_at"],
                name="clock_breach_due",
                condition=models.Q(breach_raised=False, stopped_at__isnull=True),
            ),
            models.Index(fields=["state", "next_warning_at"], name="clock_state_warning"),
            models.Index(fields=["organisation", "state", "due_at"], name="clock_org_state_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of ticket {self.ticket_id}: {self.state}"

    @property
    def remaining_seconds(self) -> int:
        return max(self.target_seconds - self.elapsed_seconds, 0)


class SlaEvent(TenantModel):
    """A warning or breach raised once per clock and threshold, whatever the number of sweepers."""

    class Kind(models.TextChoices):
        WARNING = "warning", "Warning"
        BREACH = "breach", "Breach"

    clock = models.ForeignKey(SlaClock, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    percent = models.PositiveSmallIntegerField(help_text="The threshold: 75, 90, ... or 100 for a breach.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clock", "kind", "percent"], name="sla_event_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.percent}% on clock {self.clock_id}"


class EscalationRequest(TenantModel):
    """An SLA's request to move a ticket to the next tier, for the routing service to carry out."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        DECLINED = "declined", "Declined"

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="escalation_requests")
    clock = models.ForeignKey(SlaClock, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    from_tier = models.PositiveSmallIntegerField()
    to_tier = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=250)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "state"], name="escalation_org_state")]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "to_tier"], condition=models.Q(state="open"), name="escalation_one_open_per_tier"
            )
        ]

    def __str__(self) -> str:
        return f"Escalate ticket {self.ticket_id} from Tier {self.from_tier} to Tier {self.to_tier}"
