"""Demo Tier 0 content: a small knowledge base written for the demo, and a software catalogue.

The articles are our own words (the real Outlook articles in ../shared/data are imported with
`tierdesk kb import`, never shipped). The demo has no LDAP directory, so the virtual agent's
password reset explains that none is linked; the tests run it against a real slapd.
"""

from __future__ import annotations

from collections.abc import Callable

from tierdesk.accounts.models import SupportGroup
from tierdesk.core.actor import Actor
from tierdesk.knowledge import services as kb
from tierdesk.knowledge.choices import Visibility
from tierdesk.tenancy.models import Organisation

# (category, title, summary, body, visibility)
ARTICLES: list[tuple[str, str, str, str, str]] = [
    (
        "Accounts and passwords",
        "Reset your password yourself",
        "Forgot your password or locked out? Reset it from the portal chat in two minutes.",
        "## When to use this\nYou forgot your password, it expired, or you were locked out after too many tries.\n\n"
        "## Steps\n1. Open **Chat with us** at the bottom of the portal.\n2. Type *reset my password*.\n"
        "3. A one-time code goes to the e-mail address we have on file for you. Type it in with your new password.\n\n"
        "## The password rules\n- At least 12 characters.\n- Three of: lower case, upper case, digits, symbols.\n"
        "- Not your name or e-mail address, and not a common password.\n\n"
        "If you no longer get mail at that address, ask the chat for a person.",
        Visibility.REQUESTERS,
    ),
    (
        "Remote access",
        "Connect to the VPN from home",
        "How to connect to the company network from home with the VPN client.",
        "## Before you start\nYou need a working internet connection and the VPN client "
        "(it is on every company laptop).\n\n"
        "## Steps\n1. Open the **VPN client** from the system tray.\n2. Choose the gateway of your organisation.\n"
        "3. Sign in with your usual account and approve the sign-in on your phone.\n\n"
        "## It does not connect\n- Check that the clock of your laptop is right: certificates fail otherwise.\n"
        "- Hotel and guest networks sometimes block VPNs: try your phone's hotspot.\n"
        "- Error 809 or 'the remote connection was not made': restart the laptop and try again once.",
        Visibility.REQUESTERS,
    ),
    (
        "E-mail",
        "Outlook keeps asking for your password",
        "Outlook shows the sign-in window again and again: clear the saved credentials.",
        "## Symptoms\nOutlook prompts for your password repeatedly, even after you type it correctly.\n\n"
        "## Fix\n1. Close Outlook.\n2. Open **Credential Manager** from the Start menu, then **Windows Credentials**.\n"
        "3. Remove the entries that start with *MicrosoftOffice*.\n4. Start Outlook and sign in once.\n\n"
        "If your password expired, reset it first (see *Reset your password yourself*).",
        Visibility.REQUESTERS,
    ),
    (
        "Printing",
        "Add a shared printer",
        "Find and add the office printer nearest to you.",
        "## Steps\n1. Open **Settings > Bluetooth & devices > Printers & scanners**.\n"
        "2. Choose **Add device**; printers are named after their floor and room, e.g. *L2-Room204*.\n"
        "3. Print a test page.\n\n## The printer shows offline\nRestart the print spooler: open *Services*, "
        "find **Print Spooler**, choose **Restart**. If it still shows offline, "
        "the printer itself may be off or out of paper.",
        Visibility.REQUESTERS,
    ),
    (
        "Accounts and passwords",
        "Set up multi-factor authentication on a new phone",
        "Moved to a new phone? Move your sign-in approvals to it.",
        "## Steps\n1. On a computer, open the security info page of your account and sign in.\n"
        "2. Choose **Add sign-in method > Authenticator app** and scan the QR code with the new phone.\n"
        "3. Approve the test notification, then delete the old phone from the list.\n\n"
        "Lost the old phone and cannot sign in at all? Ask the chat for a person: the desk verifies who you are first.",
        Visibility.REQUESTERS,
    ),
    (
        "Software",
        "Request software",
        "Ask for software from the catalogue; some titles need your manager's approval.",
        "## Steps\n1. Open **Chat with us** and type *I need software* (or the name, e.g. *I need Visio*).\n"
        "2. Pick the title. Licensed titles wait for approval; free tools go straight to the desk.\n"
        "3. You can follow the request under **My tickets**.",
        Visibility.REQUESTERS,
    ),
    (
        "Network",
        "Wi-Fi says connected, no internet",
        "Your laptop joined the office Wi-Fi but web pages do not load.",
        "## Steps\n1. Forget the network and join it again.\n2. Turn the Wi-Fi off and on.\n"
        "3. Open a command prompt and run `ipconfig /renew`.\n\nIf colleagues nearby have the same problem, "
        "it is likely an outage: check the banner at the top of the portal before opening a ticket.",
        Visibility.REQUESTERS,
    ),
    (
        "Desk procedures",
        "Tier 1 script: unlock a directory account",
        "Checks to make before unlocking an account on a caller's behalf.",
        "## Verify the caller\n- Call back on the number in the directory, never a number the caller gives.\n"
        "- For regulated clients (HIPAA), also confirm the employee number.\n\n"
        "## Unlock\nUnlock in the directory console, then point the caller to *Reset your password yourself* "
        "so the next lock-out is solved at Tier 0.\n\n"
        "## Escalate\nThree lock-outs in a day: raise a security ticket to Tier 2.",
        Visibility.INTERNAL,
    ),
]

# (name, description, keywords (comma-separated, as the virtual agent reads them), needs approval)
CATALOGUE: list[tuple[str, str, str, bool]] = [
    ("Microsoft Visio", "Diagrams and floor plans. Licensed per user.", "visio, diagram, flowchart", True),
    ("Adobe Acrobat Pro", "Edit and sign PDF documents. Licensed per user.", "acrobat, pdf editor, adobe pdf", True),
    ("7-Zip", "Open and create zip and 7z archives.", "7zip, zip, unzip, archive", False),
    ("Notepad++", "A text and code editor.", "notepad, text editor, code editor", False),
]


def self_service(
    system: Actor,
    provider: Organisation,
    groups: dict[str, SupportGroup],
    progress: Callable[[str], None],
) -> None:
    from tierdesk.selfservice.catalogue import create_catalog_item

    categories = {name: kb.ensure_category(actor=system, organisation=provider, name=name) for name, *_ in ARTICLES}
    for category, title, summary, body, visibility in ARTICLES:
        kb.create_article(
            actor=system,
            organisation=provider,
            title=title,
            summary=summary,
            body=body,
            visibility=visibility,
            category=categories[category],
        )
    desk = groups["desk"]
    for name, description, keywords, needs_approval in CATALOGUE:
        create_catalog_item(
            actor=system,
            provider=provider,
            name=name,
            description=description,
            keywords=keywords,
            requires_approval=needs_approval,
            approver_group=desk if needs_approval else None,
            fulfilment_group=desk,
        )
    progress(
        f"{len(ARTICLES)} knowledge articles and {len(CATALOGUE)} catalogue items; "
        "import real ones with `tierdesk kb import ../shared/data/kb/outlook`"
    )
