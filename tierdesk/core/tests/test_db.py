from django.db import connection

from tierdesk.core.db import refresh_planner_statistics
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World


def test_refresh_planner_statistics(world: World) -> None:
    open_ticket(world.requester)
    refresh_planner_statistics()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'tickets_ticket'")
            assert cursor.fetchone()[0] > 0
