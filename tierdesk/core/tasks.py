from celery import shared_task

from tierdesk.core.db import refresh_planner_statistics


@shared_task(name="tierdesk.core.refresh_planner_statistics", ignore_result=True)
def refresh_planner_statistics_task() -> None:
    refresh_planner_statistics()
