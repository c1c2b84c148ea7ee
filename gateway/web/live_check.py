"""``POST /posts/check``: the guardrails' findings, each chosen channel's count and a preview
per platform while an officer types (issue 22, item 3).

A small JSON endpoint behind the pages' own protections: the session, the CSRF token (sent in
the ``X-CSRFToken`` header, which Flask-WTF accepts), and the roles of the forms it serves (an
officer's or duty officer's post form; the duty officer's emergency form). It saves nothing:
the check runs on a post that is never added to the database (gateway.posts.live), with the
very functions the submit runs. The findings, counts and previews come back as data and as the
HTML fragments the pages render them with (one set of templates), so what the officer sees
while typing is what the page shows after a save.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, jsonify, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from wtforms import Form

from gateway.converters import MAX_ID
from gateway.domain.guardrails import AmbiguousLocalTime, NonexistentLocalTime
from gateway.domain.guardrails.clock import LONDON, local_to_utc
from gateway.domain.roles import Role
from gateway.extensions import db
from gateway.forms.fields import DateInputField
from gateway.models import Post
from gateway.models.base import utcnow
from gateway.posts import bilingual as bilingual_setting
from gateway.posts import live, permissions
from gateway.posts.live import ImageFacts, LiveCheck
from gateway.posts.service import MAX_IMAGES, PostError
from gateway.security import requires
from gateway.web.display import outcome_label
from gateway.web.forms import LondonTimeField
from gateway.web.posts import PLATFORM_NAMES
from gateway.web.views import bp

#: The largest body a check needs: the longest text (63,206 characters of up to 4 bytes in
#: UTF-8, or 12 as JSON escapes), four images' facts and the rest. Anything larger is refused
#: before it is parsed.
MAX_BODY_BYTES = 1024 * 1024
#: The most channels a form offers is the enabled channels: far fewer than this.
MAX_CHANNELS = 100
MAX_FILENAME = 255
MAX_ALT_TEXT = 1000
#: An image's size and sides as numbers a browser can report; anything larger is not real.
MAX_IMAGE_NUMBER = 2**31 - 1
EMERGENCY_NOW = "Checked for now: an emergency post goes out at once."
BAD_REQUEST = "There is a problem with your request"
IMAGE_FIELDS = {
    "filename": str,
    "content_type": str,
    "size_bytes": int,
    "width": int,
    "height": int,
    "alt_text": str,
    "alt_text_cy": str,
}


class BadCheck(ValueError):
    """What is wrong with the request, in words for the officer (and the developer)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class _When(Form):
    """The form's own date and time fields, so a date is read exactly as the form reads it."""

    publish_date = DateInputField("Date it goes out")
    publish_time = LondonTimeField("Time it goes out")


@bp.post("/posts/check")
@requires(*permissions.WRITE)
def post_check():
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _refused(413, "What you sent is too large to check: shorten the text.")
    try:
        body = _body()
        emergency = _flag(body, "emergency")
        if emergency and not current_user.has_role(Role.DUTY_OFFICER):
            abort(403)
        text = _string(body, "text", required=True)
        # A bilingual form's Welsh text (issue 18), only when the gateway publishes in both.
        text_cy = _string(body, "text_cy") if bilingual_setting.enabled() else None
        channel_ids = _channel_ids(body.get("channels", []))
        images, image_sources = _images(body)
        category = _string(body, "emergency_category") or None
        scheduled_at, when_note = (None, EMERGENCY_NOW) if emergency else _scheduled_at(body)
    except BadCheck as exc:
        return _refused(400, exc.message, exc.field)
    try:
        result = live.check_unsaved(
            current_user,
            text=text,
            channel_ids=channel_ids,
            images=images,
            scheduled_at=scheduled_at,
            emergency=emergency,
            emergency_category=category,
            text_cy=text_cy,
        )
        answer = _answer(result, image_sources, when_note)
    except PostError as exc:
        return _refused(400, exc.message, exc.field)
    finally:
        # Nothing was written: end the read transaction at once (on SQLite it holds the lock).
        db.session.rollback()
    return jsonify(answer)


def _refused(code: int, message: str, field: str | None = None):
    title = BAD_REQUEST if code == 400 else "What you sent is too large"
    return jsonify(error=title, detail=message, field=field), code


def _body() -> dict:
    if not request.is_json:
        raise BadCheck("Send the check as JSON, with the Content-Type application/json.")
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        body = None
    if not isinstance(body, dict):
        raise BadCheck('Send the check as a JSON object, like {"text": "...", "channels": [1, 2]}.')
    return body


def _flag(body: dict, name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise BadCheck(f"“{name}” must be true or false.", name)
    return value


def _string(body: dict, name: str, *, required: bool = False) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise BadCheck(f"“{name}” must be text.", name)
    return value


def _whole_number(value: Any, limit: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        return None
    return value


def _channel_ids(value: Any) -> list[int]:
    wrong = BadCheck("“channels” must be a list of the chosen channels' numbers.", "channels")
    if not isinstance(value, list) or len(value) > MAX_CHANNELS:
        raise wrong
    ids = []
    for item in value:
        # The form sends a check box's value, which is text: take "3" as well as 3.
        if isinstance(item, str) and item.isascii() and item.isdigit() and len(item) <= 10:
            item = int(item)
        number = _whole_number(item, MAX_ID)
        if not number:
            raise wrong
        ids.append(number)
    return ids


def _images(body: dict) -> tuple[list[ImageFacts], list[dict]]:
    """The images the check is for, and what each preview shows of them: those chosen on the
    form (their facts, from the browser), or else the images already saved with the post
    being edited."""
    chosen = body.get("images", [])
    if not isinstance(chosen, list):
        raise BadCheck("“images” must be a list of the chosen images' details.", "images")
    if len(chosen) > MAX_IMAGES:
        raise BadCheck(f"Add at most {MAX_IMAGES} images.", "images")
    facts = [_image(item, n) for n, item in enumerate(chosen, start=1)]
    if facts:
        return facts, []
    post_id = body.get("post_id")
    if post_id is None:
        return [], []
    number = _whole_number(post_id, MAX_ID)
    post = db.session.get(Post, number) if number else None
    if post is None:
        raise BadCheck("“post_id” is not a post: open the post again.", "post_id")
    sources = [
        {"src": url_for("web.post_image", post_id=post.id, image_id=i.id), "alt": i.alt_text}
        for i in post.images
    ]
    return live.stored_images(post), sources


def _image(item: Any, n: int) -> ImageFacts:
    if not isinstance(item, dict):
        raise BadCheck(f"Image {n}'s details must be a JSON object.", "images")
    values = {}
    for name, kind in IMAGE_FIELDS.items():
        value = item.get(name, "" if kind is str else 0)
        if kind is int:
            value = _whole_number(value, MAX_IMAGE_NUMBER)
            if value is None:
                raise BadCheck(f"Image {n}'s “{name}” must be a whole number.", "images")
        elif not isinstance(value, str):
            raise BadCheck(f"Image {n}'s “{name}” must be text.", "images")
        values[name] = value
    if len(values["filename"]) > MAX_FILENAME:
        raise BadCheck(f"Image {n}'s file name is longer than {MAX_FILENAME} characters.", "images")
    if len(values["alt_text"]) > MAX_ALT_TEXT or len(values["alt_text_cy"]) > MAX_ALT_TEXT:
        raise BadCheck("Alt text must be 1,000 characters or fewer", "images")
    values["filename"] = values["filename"] or f"image-{n}"
    return ImageFacts(**values)


def _scheduled_at(body: dict) -> tuple[datetime | None, str | None]:
    """When the post goes out, read as the form reads its date and time boxes; while they are
    empty, incomplete or in the past the check is for now, and the answer says so."""
    day = body.get("publish_date", [])
    at = body.get("publish_time", "")
    if (
        not isinstance(day, list)
        or len(day) > 3
        or not all(isinstance(part, str) for part in day)
        or not isinstance(at, str)
    ):
        raise BadCheck(
            "“publish_date” must be the day, month and year boxes as text, and "
            "“publish_time” the time as typed.",
            "publish_date",
        )
    if not any(part.strip() for part in day) and not at.strip():
        return None, "Checked as if it went out now: enter the date and time it goes out."
    boxes = [("publish_date", part) for part in day] + [("publish_time", at)]
    form = _When(formdata=MultiDict(boxes))
    form.validate()
    parsed_day, parsed_time = form.publish_date.data, getattr(form.publish_time, "parsed", None)
    if form.errors or parsed_day is None or parsed_time is None:
        return None, "Checked as if it went out now, until the date and time are complete."
    try:
        when = local_to_utc(parsed_day, parsed_time)
    except (NonexistentLocalTime, AmbiguousLocalTime) as exc:
        return None, f"Checked as if it went out now: {exc}"
    if when <= utcnow():
        return None, "Checked as if it went out now: the date and time are in the past."
    return when, None


def _answer(result: LiveCheck, image_sources: list[dict], when_note: str | None) -> dict:
    previews = [
        {
            "channel": c.channel,
            "text": c.text or result.text,
            "language": c.language,
            "parts": list(c.parts),
            "count": c.count,
            "limit": c.limit,
            "over": c.over,
            "left_out": c.left_out,
            "problem": c.problem,
            "images": image_sources,
        }
        for c in sorted(result.counts, key=lambda c: (c.channel.display_name, c.channel.id))
    ]
    local = result.at.astimezone(LONDON)
    checked_for = when_note or (
        f"Checked for when it goes out: {local:%A} {local.day} {local:%B %Y %H:%M}."
    )
    fragments = {
        "findings": render_template(
            "web/_findings_panel.html",
            findings=result.findings,
            live=True,
            checked=bool(result.text),
            checked_for=checked_for,
        ),
        "counts": render_template(
            "web/_counts.html", previews=previews, platform_names=PLATFORM_NAMES, live=True
        ),
        "previews": render_template(
            "web/_previews.html", previews=previews, platform_names=PLATFORM_NAMES, live=True
        ),
    }
    return {
        "checked_at": result.at.isoformat(),
        "checked_for": checked_for,
        "emergency": result.emergency,
        "blocked": result.blocked,
        "content_only": result.content_only,
        "findings": [
            {
                **f.as_dict(),
                "outcome_label": outcome_label(f.outcome),
                "channels": result.finding_channels.get(f, []),
            }
            for f in result.findings
        ],
        "channels": [
            {
                "id": p["channel"].id,
                "language": p["language"],
                "name": p["channel"].display_name,
                "platform": p["channel"].platform,
                "platform_name": PLATFORM_NAMES.get(p["channel"].platform, p["channel"].platform),
                "limit": p["limit"],
                "count": p["count"],
                "remaining": p["limit"] - p["count"],
                "over": p["over"],
                "left_out": p["left_out"],
                "problem": p["problem"],
            }
            for p in previews
        ],
        "html": fragments,
    }
