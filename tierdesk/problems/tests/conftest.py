"""Known errors as a desk would write them, and tickets as people report them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tierdesk.core.actor import Actor
from tierdesk.problems import services
from tierdesk.problems.models import KnownError, Problem
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World

# (key, title, symptoms, workaround)
KNOWN_ERRORS = [
    (
        "outlook",
        "Outlook keeps asking for password",
        "Outlook repeatedly prompts for the password (a Windows Security credentials window) although the password "
        "is correct. The prompt comes back every few minutes; e-mail stops syncing until the user signs in again. "
        "Often after a password change or a mailbox move.",
        "Close Outlook, open Credential Manager, remove the entries starting with MicrosoftOffice16, then start "
        "Outlook and sign in once.",
    ),
    (
        "vpn",
        "VPN disconnects every 10 minutes",
        "The VPN connection (AnyConnect) drops about every 10 minutes when working from home. Users are "
        "disconnected, have to reconnect, and Teams calls or file shares cut out. The client shows 'Connection "
        "attempt has timed out'.",
        "In AnyConnect choose the 'Home - TCP' profile instead of 'Home' until the gateway fix is released.",
    ),
    (
        "printer",
        "Printer shows offline",
        "The printer shows as offline on the laptop although it is switched on and on the network. Print jobs stay "
        "in the queue and nothing comes out.",
        "Remove the printer under Settings > Printers, then add it again from \\\\print01 (the new print server).",
    ),
    (
        "lockout",
        "Account locked out after password change",
        "The account is locked again and again shortly after the password was changed. An old password saved on a "
        "phone or tablet keeps trying to log in.",
        "Update the password in the phone's mail app, or remove the account there, then ask us to unlock it.",
    ),
    (
        "wifi",
        "Wi-Fi drops in building B",
        "Wireless connection drops on the second floor of building B; laptops reconnect after a minute. Wired "
        "network is fine.",
        "Use the docking station's cable network while the access points are replaced.",
    ),
    (
        "camera",
        "Teams does not detect the camera",
        "In Teams meetings the camera is greyed out or 'No camera found', although the webcam works in other apps.",
        "Quit Teams from the tray icon, unplug and replug the webcam, start Teams again.",
    ),
    (
        "slow",
        "Laptop very slow after update",
        "After the monthly Windows update laptops are very slow to start and apps take minutes to open; the disk "
        "is at 100%.",
        "Leave the laptop on and connected overnight so the update can finish indexing.",
    ),
    (
        "onedrive",
        "OneDrive not syncing",
        "OneDrive shows a red cross or 'sync pending' and files are not uploaded; changes made on another device "
        "do not appear.",
        "Pause and resume syncing from the OneDrive icon; if that fails, sign out of OneDrive and in again.",
    ),
]


@dataclass
class Catalogue:
    """The provider's known errors by key; the VPN one comes from a problem."""

    problem: Problem
    known_errors: dict[str, KnownError]


@pytest.fixture
def catalogue(world: World) -> Catalogue:
    agent = Actor(user=world.agent)
    incident = open_ticket(world.requester, title="VPN drops all the time")
    problem = services.create_problem(actor=agent, title="VPN gateway drops idle tunnels", incidents=[incident])
    known_errors = {
        key: services.record_known_error(
            actor=agent,
            title=title,
            symptoms=symptoms,
            workaround=workaround,
            problem=problem if key == "vpn" else None,
        )
        for key, title, symptoms, workaround in KNOWN_ERRORS
    }
    return Catalogue(problem=problem, known_errors=known_errors)
