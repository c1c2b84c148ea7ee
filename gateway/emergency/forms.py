from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovFileInput,
    GovRadioInput,
    GovTextArea,
)
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from gateway.domain.emergency import CATEGORIES
from gateway.web.forms import MAX_TEXT_CHARS, TEXT_MAX_MESSAGE, ChannelsField


class EmergencyForm(FlaskForm):
    category = RadioField(
        "What kind of emergency is it?",
        widget=GovRadioInput(),
        choices=[SelectChoice(key, label) for key, label in CATEGORIES.items()],
        validators=[InputRequired("Choose what kind of emergency this is")],
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
    #: The Welsh text, when the installation publishes in Welsh and English (issue 18):
    #: removed from the form otherwise (``one_language``). Both go out together or neither.
    text_cy = TextAreaField(
        "Welsh text of the post",
        widget=GovTextArea(),
        validators=[
            InputRequired("Enter the Welsh text of the post"),
            Length(max=MAX_TEXT_CHARS, message=TEXT_MAX_MESSAGE),
        ],
    )
    channels = ChannelsField(
        "Channels",
        coerce=int,
        validators=[InputRequired("Choose at least one channel")],
    )
    image = FileField("Image (optional)", widget=GovFileInput())
    alt_text = TextAreaField(
        "Alt text for the image",
        widget=GovTextArea(),
        validators=[Length(max=1000, message="Alt text must be 1,000 characters or fewer")],
    )
    alt_text_cy = TextAreaField(
        "Welsh alt text for the image",
        widget=GovTextArea(),
        validators=[Length(max=1000, message="Welsh alt text must be 1,000 characters or fewer")],
    )


def one_language(form: EmergencyForm) -> None:
    """The emergency form for a post in one language: no Welsh text or Welsh alt text."""
    del form.text_cy
    del form.alt_text_cy


class ReviewForm(FlaskForm):
    outcome = RadioField(
        "Your review",
        widget=GovRadioInput(),
        choices=[
            SelectChoice("reviewed", "Reviewed: it was right to post it"),
            SelectChoice("concern", "Raise a concern"),
        ],
        validators=[InputRequired("Choose whether you have a concern")],
    )
    note = TextAreaField(
        "Note",
        widget=GovTextArea(),
        validators=[Length(max=2000, message="The note must be 2,000 characters or fewer")],
    )
