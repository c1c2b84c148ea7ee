"""The officers' forms, each field rendered by its GOV.UK Frontend macro (govuk-frontend-wtf)."""

from __future__ import annotations

import re
from datetime import time

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovFileInput,
    GovRadioInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    Form,
    HiddenField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import FieldList, FormField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from gateway.forms.fields import DateInputField, DateOptional
from gateway.posts.service import MAX_TEXT_CHARS

#: Image slots on the form. X allows four images a post, the fewest of our platforms.
IMAGE_SLOTS = 4
#: What a post's text may be: Facebook's limit, the longest of our platforms (the service
#: checks the same limit; the form refuses it first, before any guardrail or preview runs).
TEXT_MAX_MESSAGE = f"The text must be {MAX_TEXT_CHARS:,} characters or fewer"
#: A time typed as people write it ("9:30am") is never longer than this.
TIME_MAX = 20
#: The written reason a rejection or a referral decision needs: enough to tell the author why.
REASON_MAX = 2000
_TIME = re.compile(r"^\s*(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?\s*$", re.IGNORECASE)


def parse_time(raw: str) -> time:
    """'9:30', '09.30', '9:30am', '2pm', '14:00' -> time; ValueError with what to do."""
    match = _TIME.match(raw or "")
    if not match:
        raise ValueError("Enter the time like 9:30am or 14:30.")
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half:
        if not 1 <= hour <= 12:
            raise ValueError("With am or pm, the hour must be between 1 and 12.")
        hour = hour % 12 + (12 if half.lower() == "pm" else 0)
    elif match.group(2) is None:
        raise ValueError("Enter the time like 9:30am or 14:30.")
    if hour > 23 or minute > 59:
        raise ValueError("Enter a real time, like 9:30am or 14:30.")
    return time(hour, minute)


class LondonTimeField(StringField):
    """A time of day in Europe/London, typed as people write it."""

    widget = GovTextInput()

    def process_formdata(self, valuelist: list[str]) -> None:
        super().process_formdata(valuelist)
        self.parsed: time | None = None
        if self.data and self.data.strip():
            try:
                self.parsed = parse_time(self.data)
            except ValueError as exc:
                # Kept as typed, so the officer sees what they wrote beside the message.
                raise ValidationError(str(exc)) from None


class ChannelsField(SelectMultipleField):
    widget = GovCheckboxesInput()

    def pre_validate(self, form: Form) -> None:
        # Say which choice is wrong in the council's words, not WTForms' generic message.
        known = {choice.value for choice in self.choices or []}
        if self.data and not set(self.data) <= known:
            raise ValidationError("Choose channels from the list.")


class ImageForm(Form):
    """One image and its alt text (required: WCAG 2.2 1.1.1 Non-text content)."""

    file = FileField("Image", widget=GovFileInput())
    alt_text = TextAreaField(
        "Alt text",
        widget=GovTextArea(),
        description="Describe the image for someone who cannot see it.",
        validators=[Length(max=1000, message="Alt text must be 1,000 characters or fewer")],
    )
    #: On a bilingual post (issue 18); removed from the form otherwise (``one_language``).
    alt_text_cy = TextAreaField(
        "Welsh alt text",
        widget=GovTextArea(),
        description="Describe the image in Welsh.",
        validators=[Length(max=1000, message="Welsh alt text must be 1,000 characters or fewer")],
    )


class PostForm(FlaskForm):
    #: The Welsh text of a bilingual post (issue 18): both texts are required while the
    #: installation publishes in Welsh and English; removed from the form otherwise.
    text_cy = TextAreaField(
        "Welsh text",
        widget=GovTextArea(),
        validators=[
            InputRequired("Enter the Welsh text of the post"),
            Length(
                max=MAX_TEXT_CHARS,
                message=f"The Welsh text must be {MAX_TEXT_CHARS:,} characters or fewer",
            ),
        ],
    )
    text = TextAreaField(
        "Text of the post",
        # Counted per chosen channel, as each platform counts (templates/web/_counts.html):
        # GOV.UK's character count knows one limit and counts as Facebook does.
        widget=GovTextArea(),
        validators=[
            InputRequired("Enter the text of the post"),
            Length(max=MAX_TEXT_CHARS, message=TEXT_MAX_MESSAGE),
        ],
    )
    channels = ChannelsField(
        "Channels",
        coerce=int,
        description="Choose every account the post goes out on.",
        validators=[DataRequired("Choose at least one channel")],
    )
    publish_date = DateInputField(
        "Date it goes out",
        description="For example, 27 3 2027",
        validators=[DateOptional()],
    )
    publish_time = LondonTimeField(
        "Time it goes out (UK time)",
        description="For example, 9:30am or 14:30",
        validators=[Optional(), Length(max=TIME_MAX, message="Enter the time like 9:30am")],
    )
    images = FieldList(FormField(ImageForm), min_entries=IMAGE_SLOTS, max_entries=IMAGE_SLOTS)
    # Sent back as the form had it; anything but a small whole number was not (a 500 before).
    expected_version = HiddenField(
        validators=[Regexp(r"^\d{0,18}$", message="Open the post again and make your change")]
    )


def one_language(form: PostForm) -> None:
    """The post form for a post in one language: no Welsh text or Welsh alt text."""
    del form.text_cy
    for entry in form.images.entries:
        del entry.form.alt_text_cy


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        "Reason",
        widget=GovTextArea(),
        validators=[
            InputRequired("Enter the reason"),
            Length(
                max=REASON_MAX, message=f"The reason must be {REASON_MAX:,} characters or fewer"
            ),
        ],
    )


class ReferralForm(ReasonForm):
    decision = RadioField(
        "Your decision",
        widget=GovRadioInput(),
        choices=[
            SelectChoice("clear", "Clear the referral: the post may be approved"),
            SelectChoice("uphold", "Uphold the referral: the post is rejected"),
        ],
        validators=[InputRequired("Choose whether to clear or uphold the referral")],
    )


class ConfirmForm(FlaskForm):
    """Only its CSRF token: for buttons that change state (never a GET)."""
