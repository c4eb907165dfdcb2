"""An XSS corpus in every field a person can type into, rendered by the portal, the plain ticket
pages and the agent console, must stay inert text.

The browser fixtures fail the test on any dialog, script error or console error (a blocked
inline script is a CSP console error); on top, each page's DOM is searched for anything the
payloads could have injected, and for the payload text itself (so the page did render it).
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

import pytest

from tierdesk.core.actor import Actor
from tierdesk.tenancy.models import Announcement
from tierdesk.tenancy.services import post_announcement
from tierdesk.testing import factories as f
from tierdesk.testing.browser import BrowserSession
from tierdesk.testing.factories import PASSWORD
from tierdesk.testing.fixtures import World
from tierdesk.tickets import services
from tierdesk.tickets.choices import ResolutionCode, TicketStatus
from tierdesk.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

# Short payloads for short fields (titles, names, file names: no "/" since paths are cut).
SHORT = '<img src=x onerror=alert("t")><svg onload=alert("s")><script>alert("x")<\\script>'
NAME = '"><img src=x onerror=alert("name")><math><mi xlink:href=javascript:alert(1)>x'
FILENAMES = ['<img src=x onerror=alert("file")>.png', "<svg onload=alert(1)>.txt", "';alert(1);'.pdf"]

CORPUS = "\n\n".join(
    [
        'XSS-CORPUS <script>alert("script")</script>',
        '<img src=x onerror=alert("img")>',
        '<IMG SRC="jav&#x09;ascript:alert(1)"> <body onload=alert("body")>',
        '<svg><script>alert("svg")</script></svg> <svg onload=alert("svg2")/>',
        '<math><mtext><table><mglyph><style><img src=x onerror=alert("math")></style></mglyph></table></mtext></math>',
        '<<script>script>alert("broken")<</script>/script> <scr<script>ipt>alert(1)</script>',
        '"><iframe srcdoc="<script>alert(1)</script>"></iframe>',
        "[markdown link](javascript:alert('md')) [mixed case](JaVaScRiPt:alert(1))",
        "[entity](javas&#99;ript:alert(1)) <a href=\"javascript:alert('raw')\">raw link</a>",
        '![image](javascript:alert("mdimg")) ![onerror](x" onerror="alert(1))',
        '<details open ontoggle=alert("toggle")>x</details> <object data="javascript:alert(1)"></object>',
        '<a href="data:text/html,<script>alert(1)</script>">data url</a> <base href="javascript:alert(1)//">',
        '<style>body{display:none}</style> <div style="background:url(javascript:alert(1))">styled</div>',
        "<form action=javascript:alert(1)><button>go</button></form> <input autofocus onfocus=alert(1)>",
        "{{ 7|add:7 }} {% now 'Y' %} ${alert(1)} <XSS>",
    ]
)

# Everything a page may legitimately contain is ours: scripts and stylesheets from /static/, the
# empty icon of base.html, and no images, frames, SVG or MathML at all.
FIND_INJECTED = """() => {
  const found = [];
  const urlAttributes = ["href", "src", "action", "formaction", "data", "xlink:href", "background", "poster"];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\\s\\u0000-\\u001f]/g, "").toLowerCase();
      if (name.startsWith("on")) found.push(`${el.tagName} ${name}=${attr.value}`);
      if (name === "srcdoc" || name === "style") found.push(`${el.tagName} ${name}`);
      if (urlAttributes.includes(name) && (value.startsWith("javascript:") || value.startsWith("data:text")
          || value.startsWith("vbscript:"))) found.push(`${el.tagName} ${name}=${attr.value}`);
    }
  }
  for (const script of document.scripts) {
    const url = script.src ? new URL(script.src) : null;
    if (!url || url.origin !== location.origin || !url.pathname.startsWith("/static/")) {
      found.push(`script ${script.src || script.textContent.slice(0, 60)}`);
    }
  }
  for (const link of document.querySelectorAll("link")) {
    const href = link.getAttribute("href") || "";
    const ours = link.rel === "stylesheet" ? href.startsWith("/static/") : link.rel === "icon" && href === "data:,";
    if (!ours) found.push(`link: ${link.outerHTML.slice(0, 80)}`);
  }
  const selectors = ["svg", "math", "iframe", "frame", "object", "embed", "img", "video", "audio", "style",
    "base", "meta[http-equiv]", "xss", "mi", "mglyph", "body[onload]", "input[autofocus]",
    "a[href^='javascript' i]", "form[action^='javascript' i]"];
  for (const selector of selectors) {
    for (const el of document.querySelectorAll(selector)) found.push(`${selector}: ${el.outerHTML.slice(0, 80)}`);
  }
  return found;
}"""


def _plant_corpus(world: World) -> tuple[Ticket, Any]:
    """The corpus in every field a requester or an agent can type into."""
    requester = f.RequesterFactory.create(organisation=world.client, name=NAME, email="mallory@hospital.test")
    requester_user = f.requester_login(requester)
    requester_user.full_name = NAME
    requester_user.save(update_fields=["full_name"])
    me, agent = Actor(user=requester_user), Actor(user=world.agent)
    post_announcement(
        actor=Actor.system(), organisation=world.client, title=SHORT, body=CORPUS, severity=Announcement.Severity.OUTAGE
    )
    ticket = services.open_ticket(actor=me, requester=requester, title=SHORT, description=CORPUS)
    for name in FILENAMES:
        services.add_attachment(actor=me, ticket=ticket, stream=io.BytesIO(b"payload"), filename=name)
    services.add_attachment(
        actor=agent, ticket=ticket, stream=io.BytesIO(b"internal"), filename=FILENAMES[0], is_public=False
    )
    ticket = services.assign(actor=agent, ticket=ticket, assignee=world.agent, support_group=world.group)
    services.reply(actor=me, ticket=ticket, body=CORPUS)
    services.reply(actor=agent, ticket=ticket, body=CORPUS)
    services.add_note(actor=agent, ticket=ticket, body=CORPUS)
    resolved = dict(to_status=TicketStatus.RESOLVED, resolution_code=ResolutionCode.FIXED, resolution_notes=CORPUS)
    ticket = services.transition(actor=agent, ticket=ticket, **resolved)  # type: ignore[arg-type]
    ticket = services.transition(actor=me, ticket=ticket, to_status=TicketStatus.IN_PROGRESS, reason=CORPUS)
    ticket = services.transition(actor=agent, ticket=ticket, **resolved)  # type: ignore[arg-type]
    services.rate_resolution(actor=me, ticket=ticket, score=1, comment=CORPUS)
    return ticket, requester_user


def _check(session: BrowserSession, path: str, *, shows: tuple[str, ...]) -> None:
    response = session.go(path)
    assert response is not None and response.status == 200, f"{path}: HTTP {response and response.status}"
    session.page.wait_for_load_state("load")
    injected = session.page.evaluate(FIND_INJECTED)
    assert not injected, f"{path}: injected elements or attributes: {injected}"
    text = session.page.inner_text("body")
    for payload in shows:
        assert payload in text, f"{path}: the payload {payload!r} was not shown as text"
    session.problems.assert_none()


def test_xss_corpus_renders_inert(
    world: World, session: BrowserSession, second_session: BrowserSession, third_session: BrowserSession
) -> None:
    ticket, requester_user = _plant_corpus(world)
    number = ticket.number
    search = quote(SHORT)

    requester = session
    requester.login(requester_user.email, PASSWORD)
    _check(requester, "/portal/", shows=(SHORT,))
    _check(requester, f"/portal/?show=all&q={search}", shows=(SHORT,))
    _check(requester, f"/portal/tickets/{number}/", shows=(SHORT, "XSS-CORPUS"))
    for name in FILENAMES:
        assert services.clean_filename(name) in requester.page.inner_text("#attachments")
    assert requester.page.locator("#attachments li").count() == len(FILENAMES)  # not the internal one
    requester.screenshot("portal-xss-ticket")
    _check(requester, "/portal/new/", shows=(NAME,))

    manager = third_session
    manager.login(world.manager_user.email, PASSWORD)
    _check(manager, "/portal/organisation/", shows=(NAME,))
    _check(manager, f"/portal/tickets/{number}/", shows=(SHORT, "XSS-CORPUS"))

    agent = second_session
    agent.login(world.agent.email, PASSWORD)
    _check(agent, "/console/?queue=all", shows=(SHORT,))
    _check(agent, f"/console/?queue=all&q={search}", shows=(SHORT,))
    _check(agent, f"/console/tickets/{number}/", shows=(SHORT, "XSS-CORPUS"))
