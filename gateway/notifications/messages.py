"""Who is told what. Each function takes the post after its change was committed."""

from __future__ import annotations

from flask import current_app, has_request_context, url_for
from sqlalchemy import select

from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.models import Post, User, UserRole
from gateway.notifications.mail import Email, send

#: How much of a post's text a subject line quotes.
SUBJECT_TEXT_CHARS = 50


def _link(post: Post) -> str:
    if has_request_context():
        return url_for("web.post_show", post_id=post.id, _external=True)
    base = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    return f"{base}/posts/{post.id}"


def _short(post: Post) -> str:
    text = " ".join(post.text.split())
    return text if len(text) <= SUBJECT_TEXT_CHARS else text[: SUBJECT_TEXT_CHARS - 1] + "…"


def _texts(post: Post) -> str:
    """The post's text as an email shows it: a bilingual post's Welsh and English, each
    under its language's name, in the council's order (issue 18: every place that shows a
    post shows both languages)."""
    if not post.bilingual:
        return post.text
    from gateway.domain.bilingual import LANGUAGE_NAMES
    from gateway.web.display import texts_in_order

    return "\n\n".join(
        f"{LANGUAGE_NAMES[lang]}:\n{text}" for lang, text in texts_in_order(post.text_cy, post.text)
    )


def _approvers(post: Post) -> list[str]:
    # Its writers cannot approve it (issue 20): they are not asked to.
    from gateway.posts.service import approvers

    return [user.email for user in approvers(post)]


def admins() -> tuple[str, ...]:
    """The active admins' addresses: told of emergency posts when no list is set (issue 20)."""
    return tuple(
        db.session.scalars(
            select(User.email)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.ADMIN.value, User.active.is_(True))
            .distinct()
            .order_by(User.email)
        )
    )


def post_awaits_approval(post: Post) -> int:
    return send(
        Email(
            tuple(_approvers(post)),
            f"A post is waiting for your approval: {_short(post)}",
            f"{post.author.email} submitted a post for approval.\n\n"
            f"{_texts(post)}\n\nApprove or reject it: {_link(post)}\n",
        )
    )


def post_decided(post: Post, *, approved: bool, reason: str | None = None) -> int:
    if approved:
        subject = f"Your post is approved: {_short(post)}"
        body = f"Your post is approved and scheduled.\n\nSee it: {_link(post)}\n"
    else:
        subject = f"Your post was rejected: {_short(post)}"
        body = (
            f"Your post was rejected.\n\nReason: {reason or 'none given'}\n\n"
            f"Edit it and submit it again: {_link(post)}\n"
        )
    return send(Email((post.author.email,), subject, body))


def _reviews_link() -> str:
    if has_request_context():
        return url_for("emergency.reviews", _external=True)
    base = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    return f"{base}/emergency/reviews"


def _listed(reasons: list[str]) -> str:
    return "\n".join(f"- {r}" for r in reasons) or "- (no reason recorded)"


def post_blocked(post: Post, reasons: list[str], *, also: tuple[str, ...] = ()) -> int:
    """For the publish job: the guardrails stopped the post at publish time."""
    listed = _listed(reasons)
    return send(
        Email(
            (post.author.email, *also),
            f"Your post was blocked at publish time: {_short(post)}",
            f"The guardrails stopped your post when it was due to go out:\n{listed}\n\n"
            f"Edit it and submit it again: {_link(post)}\n",
        )
    )


def post_failed(post: Post, reason: str, *, also: tuple[str, ...] = ()) -> int:
    """For the publish job: a platform refused the post, or it is held for a person."""
    return send(
        Email(
            (post.author.email, *also),
            f"Your post did not go out: {_short(post)}",
            f"Publishing your post failed: {reason}\n\nSee what happened: {_link(post)}\n",
        )
    )


def post_held(post: Post, reasons: list[str], *, also: tuple[str, ...] = ()) -> int:
    """For the publish job: it stopped and waits for a person (outcome unknown, the channel
    needs reconnecting, a missed time): nothing goes out until someone decides."""
    return send(
        Email(
            (post.author.email, *also),
            f"Your post is held for a person to decide: {_short(post)}",
            "Your post stopped, and nothing more is sent until a person decides what to do:\n"
            f"{_listed(reasons)}\n\nSee it and decide: {_link(post)}\n",
        )
    )


def _emergency_facts(post: Post) -> tuple[str, str, str, str]:
    """(category, who sent it, when in UK time, channels) of an emergency post."""
    from gateway.domain.emergency import LONDON, category_label

    author = post.author
    who = f"{author.display_name} ({author.email})" if author.display_name else author.email
    at = (post.scheduled_at or post.created_at).astimezone(LONDON)
    channels = ", ".join(d.channel.display_name for d in post.deliveries) or "(none)"
    category = category_label(post.emergency_category or "")
    return category, who, f"{at:%H:%M on %A %d %B %Y}", channels


def emergency_sent(post: Post, to: tuple[str, ...]) -> int:
    """The communications team's leads, told at once that an emergency post is going out
    (issue 7, "Told at once"), or that it waits for fast-track approval (issue 20)."""
    from gateway.domain.emergency import Release

    category, who, at, channels = _emergency_facts(post)
    if post.emergency_release == Release.FAST_TRACK:
        subject = f"Emergency post awaiting fast-track approval: {category}: {_short(post)}"
        how = (
            "It is office hours, so it waits for another officer's fast-track approval, and "
            "goes out at once when approved."
        )
    else:
        subject = f"Emergency post going out now: {category}: {_short(post)}"
        how = "It went out without a second approval."
    return send(
        Email(
            to,
            subject,
            f"{who} sent an emergency post at {at} (UK time). {how}\n\n"
            f"Category: {category}\nChannels: {channels}\n\n{_texts(post)}\n\n"
            f"See it and how each channel went: {_link(post)}\n"
            f"Another officer reviews it on the next working day: {_reviews_link()}\n",
        )
    )


def post_taken_over(post_id: int, previous_holder_id: int) -> int:
    """Tell the officer who held a post that another officer took it over (issue 20): a
    change to someone's words is never made behind their back."""
    post = db.session.get(Post, post_id)
    previous = db.session.get(User, previous_holder_id)
    if post is None or previous is None or post.holder is None:
        return 0
    return send(
        Email(
            (previous.email,),
            f"{post.holder.email} took over your post: {_short(post)}",
            f"{post.holder.email} took over your post, so they can edit and submit it.\n"
            "If they change it, they cannot approve it: another officer must.\n\n"
            f"See it and its history: {_link(post)}\n",
        )
    )


def emergency_awaits_fast_track(post: Post, to: tuple[str, ...]) -> int:
    """Every officer who can approve it, told at once that an emergency post made in office
    hours waits for a fast-track approval (issue 20)."""
    category, who, at, channels = _emergency_facts(post)
    return send(
        Email(
            to,
            f"Emergency: fast-track approval needed now: {category}: {_short(post)}",
            f"{who} sent an emergency post at {at} (UK time). It is office hours, so it needs "
            "another officer's approval before it goes out: it is first in your approval "
            "queue, and goes out at once when approved.\n\n"
            f"Category: {category}\nChannels: {channels}\n\n{_texts(post)}\n\n"
            f"Approve or reject it now: {_link(post)}\n",
        )
    )
