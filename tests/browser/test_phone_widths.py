"""Every page fits a 375-pixel phone (issue 22, item 6): no sideways scrolling for any person.

Chromium emulates a phone (375 x 800 CSS pixels, touch, the page's own viewport meta tag). Each
person (an officer who writes, an officer who approves, a duty officer, an auditor, the
monitoring officer and an admin) signs in and opens every page the menu can lead them to: every
GET route of the app that takes no argument, and the pages of a seeded post, channel, user,
election, log entry and emergency post. The data is made to be awkward: long email addresses,
long channel and ward names, a post with a long web address and long words, a long error.
On each page ``document.documentElement.scrollWidth`` must not exceed ``window.innerWidth``.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from fakeplatform.client import FakePlatformControl
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import (
    AllowedContact,
    AuditEntry,
    Channel,
    ClosureDay,
    Election,
    Post,
    RegisterPerson,
    User,
)
from gateway.posts import emergency, service
from gateway.publishing.release import release_due
from tests.browser.conftest import NOW, Window
from workers.worker import build_worker

#: An iPhone SE-sized phone, as Chromium's device emulation gives it.
PHONE = {
    "viewport": {"width": 375, "height": 800},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
WIDTH = PHONE["viewport"]["width"]
COUNCIL = "Harbourside and Upper Wetherington Borough Council"
DOMAIN = "communications.harbourside-and-upper-wetherington.example"
PEOPLE = {
    "author": (Role.OFFICER, f"alexandra.featherstonehaugh-worthington@{DOMAIN}"),
    "approver": (Role.OFFICER, f"bartholomew.cholmondeley-marjoribanks@{DOMAIN}"),
    "duty": (Role.DUTY_OFFICER, f"duty-officer-out-of-hours-rota-number-two@{DOMAIN}"),
    "auditor": (Role.AUDITOR, f"internal-audit-and-assurance-team-lead@{DOMAIN}"),
    "monitoring": (Role.MONITORING_OFFICER, f"monitoring-officer-and-head-of-legal@{DOMAIN}"),
    "admin": (Role.ADMIN, f"digital-services-platform-administrator@{DOMAIN}"),
}
LONG_URL = (
    "https://www.harbourside.gov.uk/residents/bins-and-recycling/collection-days/"
    "changes-because-of-the-roadworks-on-the-high-street-in-march-2027?ward=upper-wetherington"
)
TEXT = (
    "Bin collections in Upper Wetherington move to Thursday. "
    f"Check your new collection day at {LONG_URL} "
    "#HarboursideAndUpperWetheringtonRoadworksMarch2027"
)
#: Routes that are not pages a person reads (files, health checks), or not signed in.
NOT_PAGES = {
    "static",
    "auth.sign_in",  # signed out only: measured on its own
    "health.healthz",
    "health.readyz",
    "auditor.export",
    "auditor.export_csv",
    "api.openapi",  # the JSON API's document and its calls (issue 17): not pages
    "api.post_list",
}
#: What each person must at least have seen, so a page that starts refusing them is noticed.
MUST_SEE = {
    "author": {"/", "/posts/new", "/approvals", "/schedule", "/schedule/month", "/posts/{post}"},
    "approver": {"/approvals", "/posts/{awaiting}", "/posts/{post}"},
    "duty": {"/emergency", "/emergency/reviews", "/emergency/{emergency}/fast-track"},
    "auditor": {"/audit/", "/audit/entries/{entry}", "/audit/posts/{post}", "/audit/verify"},
    "monitoring": {"/audit/", "/approvals", "/emergency/reviews"},
    "admin": {
        "/admin/",
        "/admin/users",
        "/admin/users/{user}",
        "/admin/channels",
        "/admin/channels/{channel}",
        "/admin/elections",
        "/admin/elections/{election}",
        "/admin/register",
        "/admin/contacts",
        "/admin/closures",
    },
}
#: Pictures of a few pages on a phone (docs/screenshots with GATEWAY_SCREENSHOTS=1).
SHOTS = {
    ("author", "/"): "phone-dashboard",
    ("author", "/posts/{post}"): "phone-post-published",
    ("author", "/schedule"): "phone-schedule-week",
    ("author", "/schedule/month"): "phone-schedule-month",
    ("approver", "/approvals"): "phone-approvals",
    ("auditor", "/audit/"): "phone-publish-log",
    ("auditor", "/audit/entries/{entry}"): "phone-log-entry",
    ("admin", "/admin/users"): "phone-admin-users",
}
#: The page's width, the window's, and the innermost elements that stick out past the phone's
#: width (to say what to fix). On a phone Chromium zooms out to show a page that is too wide,
#: which widens ``innerWidth`` to the page's: so the window must also still be the phone's.
MEASURE = """(width) => {
  const wide = [];
  const sticksOut = (el) => {
    const box = el.getBoundingClientRect();
    return box.width > 1 && box.right > width + 0.5;
  };
  for (const el of document.body.querySelectorAll('*')) {
    if (sticksOut(el) && ![...el.children].some(sticksOut)) {
      const cls = typeof el.className === 'string' && el.className.trim()
        ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
      const right = Math.round(el.getBoundingClientRect().right);
      wide.push(`${el.tagName.toLowerCase()}${cls} (${right}px): `
        + (el.textContent || '').trim().slice(0, 60));
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
          wide: wide.slice(0, 6)};
}"""


def _user(email: str) -> User:
    return db.session.scalars(select(User).where(User.email == email)).one()


def _seed(app, clock, fake_server, emails) -> dict[str, int]:
    """Posts in every state a phone shows, and the admin's lists, all with long words."""
    with app.app_context():
        author, approver = _user(emails["author"]), _user(emails["approver"])
        channels = [c.id for c in db.session.scalars(select(Channel).order_by(Channel.id))]
        soon = NOW + timedelta(minutes=2)
        published = service.create_draft(author, text=TEXT, channel_ids=channels, scheduled_at=soon)
        failing = service.create_draft(
            author,
            text="Harbourside's libraries open late on Thursdays from April: " + LONG_URL,
            channel_ids=channels[:1],
            scheduled_at=soon + timedelta(minutes=1),
        )
        for post in (published, failing):
            service.submit(post, author)
            service.approve(post, approver)
        awaiting = service.create_draft(
            author,
            text="Upper Wetherington's Christmas market opens on 4 December. " + LONG_URL,
            channel_ids=channels,
            scheduled_at=NOW + timedelta(days=1),
        )
        service.submit(awaiting, author)
        draft = service.create_draft(
            author,
            text="Draft: " + "Supercalifragilisticexpialidocious" * 4,
            channel_ids=channels,
            scheduled_at=NOW + timedelta(days=2),
        )
        urgent = emergency.send(
            _user(emails["duty"]),
            text="Flood warning for Upper Wetherington: avoid the riverside paths. " + LONG_URL,
            channel_ids=channels,
            category="flooding",
        )
        election = Election(
            kind="by-election",
            polling_day=date(2027, 5, 6),
            wards="Upper Wetherington and Lower Featherstonehaugh North-East\nHarbourside Central",
        )
        db.session.add_all(
            [
                election,
                RegisterPerson(
                    name="Councillor Marmaduke Featherstonehaugh-Cholmondeley",
                    party="Harbourside and Upper Wetherington Independent Residents' Association",
                    role="councillor",
                    ward="Upper Wetherington and Lower Featherstonehaugh North-East",
                ),
                AllowedContact(kind="email-domain", value=DOMAIN, note="The comms team"),
                ClosureDay(
                    day=date(2027, 3, 19),
                    reason="Council offices closed for the Upper Wetherington centenary " * 2,
                ),
            ]
        )
        db.session.commit()
        ids = {
            "post": published.id,
            "failing": failing.id,
            "awaiting": awaiting.id,
            "draft": draft.id,
            "emergency": urgent.id,
            "election": election.id,
            "channel": channels[0],
            "user": author.id,
        }
    # The published post goes out on both channels; the other is refused by X, with a long
    # reason on its page.
    clock.move_to(soon + timedelta(seconds=30))
    with app.app_context():
        release_due(app)
    build_worker(app).work(burst=True, with_scheduler=True)
    with FakePlatformControl(fake_server) as fake:
        fake.inject_fault("error", platform="x", method="POST", status=400, times=None)
        clock.move_to(soon + timedelta(minutes=1, seconds=30))
        with app.app_context():
            release_due(app)
        build_worker(app).work(burst=True, with_scheduler=True)
        fake.clear_faults()
    with app.app_context():
        post = db.session.get(Post, ids["post"])
        assert post.status == "published", [(d.status, d.last_error) for d in post.deliveries]
        assert db.session.get(Post, ids["failing"]).status == "failed"
        ids["entry"] = db.session.scalar(
            select(AuditEntry.seq)
            .where(AuditEntry.action == "delivery.outcome")
            .order_by(AuditEntry.seq.desc())
            .limit(1)
        )
    return ids


def _paths(app, ids: dict[str, int]) -> list[str]:
    """Every page without an argument, and the seeded objects' pages."""
    plain = sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and not rule.arguments and rule.endpoint not in NOT_PAGES
    )
    seeded = [
        "/posts/{post}",
        "/posts/{failing}",
        "/posts/{awaiting}",
        "/posts/{draft}",
        "/posts/{draft}/edit",
        "/posts/{emergency}",
        "/emergency/{emergency}/fast-track",
        "/admin/users/{user}",
        "/admin/channels/{channel}",
        "/admin/elections/{election}",
        "/audit/entries/{entry}",
        "/audit/posts/{post}",
    ]
    return plain + seeded


@pytest.fixture
def site(live_site, clock):
    return live_site(COUNCIL, PEOPLE)


def test_every_page_fits_a_375_pixel_phone(
    app, site, fake_server, browser, axe, screenshots, clock
):
    base_url, emails = site
    ids = _seed(app, clock, fake_server, emails)
    paths = _paths(app, ids)
    too_wide: dict[str, dict] = {}
    seen: dict[str, set[str]] = {}

    def _check(page, name: str) -> None:
        found = page.evaluate(MEASURE, WIDTH)
        if not found["scrollWidth"] <= found["innerWidth"] == WIDTH:
            too_wide[name] = found

    def measure(window: Window, who: str, pattern: str) -> None:
        path = pattern.format(**ids)
        response = window.page.goto(base_url + path)
        if (
            response is None
            or response.status in (403, 404)
            or "text/html" not in (response.headers.get("content-type", ""))
        ):
            return
        # A platform's callback opened without its sign-in (issues 15, 21) is a refusal page,
        # a 400 that says nothing was stored, or goes back to its form: measured like the others.
        expected = (200, 400) if path.endswith("/callback") else (200,)
        assert response.status in expected, (who, path, response.status)
        if window.page.url.startswith(f"{base_url}/sign-in"):
            return
        seen.setdefault(who, set()).add(pattern)
        _check(window.page, f"{who} {path}")
        shot = SHOTS.get((who, pattern))
        if shot:
            window.page.screenshot(path=str(screenshots / f"{shot}.png"), full_page=True)

    # Signed out: the sign-in page.
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{base_url}/sign-in")
    _check(page, "signed out /sign-in")
    context.close()

    for who in PEOPLE:
        window = Window(browser, base_url, emails[who], axe, screenshots, PHONE)
        for pattern in paths:
            measure(window, who, pattern)
        if who == "author":
            # A refused form: the error summary and messages on a phone.
            window.go("/posts/new")
            window.page.fill("#text", "Call Jenny on 07700 900461. " + LONG_URL)
            window.page.get_by_role("button", name="Submit for approval", exact=True).click()
            window.page.locator(".govuk-error-summary").wait_for()
            _check(window.page, "author /posts/new (refused)")
        window.close()

    missing = {
        who: sorted(expected - seen.get(who, set()))
        for who, expected in MUST_SEE.items()
        if expected - seen.get(who, set())
    }
    assert not missing, f"pages not reached: {missing}"
    assert not too_wide, json.dumps(too_wide, indent=1)
