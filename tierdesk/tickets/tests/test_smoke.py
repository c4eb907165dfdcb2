from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World


def test_open_ticket_numbers_and_priority(world: World) -> None:
    ticket = open_ticket(world.requester, impact="high", urgency="high")
    assert ticket.number.startswith("INC")
    assert ticket.priority == 1
