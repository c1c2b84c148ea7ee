"""Admin forms, each field rendered by its GOV.UK Frontend macro (govuk-frontend-wtf)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovFileInput,
    GovPasswordInput,
    GovRadioInput,
    GovSelect,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, DataRequired, InputRequired, Length, Optional

from gateway.domain.bilingual import CHANNEL_LANGUAGES, CHANNEL_LAYOUTS
from gateway.domain.emergency import IN_HOURS_CHOICES
from gateway.domain.guardrails import ElectionKind
from gateway.domain.guardrails.citations import CLAUSES, MAX_CITATION_CHARS, Clause
from gateway.domain.roles import Role
from gateway.forms.fields import DateInputField, DateOptional

ROLE_CHOICES = [SelectChoice(r.value, r.label) for r in Role]
PLATFORM_CHOICES = [
    SelectChoice("x", "X"),
    SelectChoice("facebook", "Facebook Page"),
    SelectChoice("instagram", "Instagram"),
    SelectChoice("bluesky", "Bluesky"),
    SelectChoice("mastodon", "Mastodon"),
]
#: The register CSV is a few hundred rows at most; a cap stops a pasted mistake early.
REGISTER_MAX_CHARS = 1_000_000


class RolesField(SelectMultipleField):
    widget = GovCheckboxesInput()


class NewUserForm(FlaskForm):
    email = EmailField(
        "Email address",
        widget=GovTextInput(),
        validators=[DataRequired("Enter an email address"), Length(max=254)],
    )
    display_name = StringField("Name", widget=GovTextInput(), validators=[Length(max=120)])
    roles = RolesField("Roles", choices=ROLE_CHOICES, validators=[DataRequired("Choose a role")])


class RolesForm(FlaskForm):
    roles = RolesField("Roles", choices=ROLE_CHOICES, validators=[DataRequired("Choose a role")])


class ConfirmForm(FlaskForm):
    """A form with only its CSRF token, for buttons that change state."""


class ChannelForm(FlaskForm):
    platform = RadioField(
        "Platform",
        widget=GovRadioInput(),
        choices=PLATFORM_CHOICES,
        validators=[InputRequired("Choose the platform")],
    )
    display_name = StringField(
        "Name officers see",
        widget=GovTextInput(),
        description="For example, Harbourside Council on X",
        validators=[InputRequired("Enter a name for the channel"), Length(max=120)],
    )
    external_account_id = StringField(
        "Account id on the platform",
        widget=GovTextInput(),
        description="The X user id, the Facebook Page id or the Instagram professional account "
        "id. Leave it empty for Bluesky and Mastodon: the gateway finds the account by signing in.",
        validators=[Length(max=120)],
    )
    base_url = StringField(
        "API address (only for training)",
        widget=GovTextInput(),
        description="Leave empty for the platform itself. Training channels point at the fake "
        "platform, for example http://127.0.0.1:8025. For Bluesky, the address of the "
        "account's server (its PDS) if its handle does not lead to it. For Mastodon, the "
        "instance's address, for example https://social.example.gov.uk (required).",
        validators=[
            Optional(),
            URL(require_tld=False, message="Enter a web address starting http:// or https://"),
            Length(max=500),
        ],
    )
    language = RadioField(
        "Language",
        widget=GovRadioInput(),
        choices=[SelectChoice(k or "both", label) for k, label in CHANNEL_LANGUAGES.items()],
        default="both",
        description="When the gateway publishes in Welsh and English (GATEWAY_BILINGUAL): "
        "a channel for both gets every post in both languages; a council with separate Welsh "
        "and English accounts marks each for its language.",
        validators=[Optional()],
    )
    access_token = PasswordField(
        "Access token", widget=GovPasswordInput(), validators=[Length(max=2000)]
    )
    access_token_secret = PasswordField(
        "Access token secret (X only)", widget=GovPasswordInput(), validators=[Length(max=2000)]
    )
    consumer_key = PasswordField(
        "API key (X only)", widget=GovPasswordInput(), validators=[Length(max=2000)]
    )
    consumer_secret = PasswordField(
        "API key secret (X only)", widget=GovPasswordInput(), validators=[Length(max=2000)]
    )
    handle = StringField(
        "Handle (Bluesky only)",
        widget=GovTextInput(),
        description="For example, harbourside.gov.uk or harbourside.bsky.social",
        validators=[Length(max=253)],
    )
    app_password = PasswordField(
        "App password (Bluesky only)",
        widget=GovPasswordInput(),
        description="Made in Bluesky's Settings, Privacy and security, App passwords: never the "
        "account's own password",
        validators=[Length(max=200)],
    )


class MastodonConnectForm(FlaskForm):
    """Connect a Mastodon account by its instance's sign-in (issue 21)."""

    instance_url = StringField(
        "Mastodon instance",
        widget=GovTextInput(),
        description="Its address, for example https://social.example.gov.uk. You sign in there "
        "as the council's account and allow the gateway to post.",
        validators=[
            InputRequired("Enter the instance's address"),
            URL(require_tld=False, message="Enter a web address starting http:// or https://"),
            Length(max=500),
        ],
    )
    display_name = ChannelForm.display_name
    language = ChannelForm.language


class ConnectXForm(FlaskForm):
    """Connect with X: what the gateway cannot learn from X itself (issue 15)."""

    display_name = StringField(
        "Name officers see (optional)",
        widget=GovTextInput(),
        description="Leave empty to use the X account's @name",
        validators=[Optional(), Length(max=120)],
    )
    base_url = ChannelForm.base_url
    language = ChannelForm.language


class ConnectFacebookForm(FlaskForm):
    """Connect with Facebook: the Pages and Instagram accounts are chosen after signing in."""

    base_url = ChannelForm.base_url
    language = ChannelForm.language


class PlatformAppForm(FlaskForm):
    """The council's own app on X or Meta (issue 15): its id, and its secret (never shown back:
    left empty, the stored one stays)."""

    client_id = StringField(
        "App id",
        widget=GovTextInput(),
        validators=[InputRequired("Enter the app's id"), Length(max=200)],
    )
    client_secret = PasswordField(
        "App secret",
        widget=GovPasswordInput(),
        description="Leave empty to keep the secret already stored.",
        validators=[Optional(), Length(max=500)],
    )


class ChannelLanguageForm(FlaskForm):
    language = ChannelForm.language


class ChannelBilingualLayoutForm(FlaskForm):
    """How a channel for both languages gets them (issue 18): its own layout, or the
    installation's."""

    bilingual_layout = RadioField(
        "How this channel gets a post in both languages",
        widget=GovRadioInput(),
        choices=[SelectChoice(k or "installation", label) for k, label in CHANNEL_LAYOUTS.items()],
        default="installation",
        validators=[InputRequired("Choose how this channel gets a post in both languages")],
    )


def channel_bilingual_layout(value: str | None) -> str:
    """The stored layout for a radio choice ("installation" is stored as "")."""
    return "" if value in (None, "", "installation") else value


def channel_language(value: str | None) -> str:
    """The stored channel language for a radio choice ("both" is stored as "")."""
    return "" if value in (None, "", "both") else value


class ReconnectForm(FlaskForm):
    access_token = ChannelForm.access_token
    access_token_secret = ChannelForm.access_token_secret
    consumer_key = ChannelForm.consumer_key
    consumer_secret = ChannelForm.consumer_secret
    handle = ChannelForm.handle
    app_password = ChannelForm.app_password


class ElectionForm(FlaskForm):
    name = StringField(
        "Name",
        widget=GovTextInput(),
        description="What the council calls it, as officers will read it in the guardrails' "
        "findings. Leave it empty for a name like Local elections, 6 May 2027.",
        validators=[Optional(), Length(max=200, message="Enter a name of 200 characters or fewer")],
    )
    kind = SelectField(
        "Kind of poll",
        widget=GovSelect(),
        choices=[SelectChoice(k.value, k.value.capitalize()) for k in ElectionKind],
        validators=[InputRequired("Choose the kind of poll")],
    )
    polling_day = DateInputField(
        "Polling day",
        description="For example, 6 5 2027",
        validators=[InputRequired("Enter polling day as a real date, like 6 5 2027")],
    )
    notice_published = DateInputField(
        "Date the notice of election was published",
        description="Leave empty until it is published: the period is then assumed to start "
        "6 weeks or 25 working days before polling day, whichever is earlier.",
        validators=[DateOptional()],
    )
    wards = TextAreaField(
        "Wards (by-elections only)",
        widget=GovTextArea(),
        description="One ward a line.",
        validators=[Length(max=5000)],
    )
    subject = TextAreaField(
        "What the referendum is about (referendums only)",
        widget=GovTextArea(),
        description="Words naming its subject, separated by commas.",
        validators=[Length(max=2000)],
    )


class CitationsForm(FlaskForm):
    """The council's own policy name and clause number for each clause a guardrail finding
    cites (issue 22); one text field a clause, named after its key."""


for _clause in Clause:
    setattr(
        CitationsForm,
        _clause.value,
        StringField(
            CLAUSES[_clause].title,
            widget=GovTextInput(),
            description=f"It says: {CLAUSES[_clause].text}.",
            validators=[
                Optional(),
                Length(
                    max=MAX_CITATION_CHARS,
                    message=f"{CLAUSES[_clause].title}: enter {MAX_CITATION_CHARS} characters "
                    "or fewer",
                ),
            ],
        ),
    )


class RegisterUploadForm(FlaskForm):
    csv_file = FileField("CSV file", widget=GovFileInput())
    csv_text = TextAreaField(
        "Or paste the CSV",
        widget=GovTextArea(),
        description="A header line name,party,role,ward, then one person a line.",
        validators=[Length(max=REGISTER_MAX_CHARS)],
    )


class RegisterConfirmForm(FlaskForm):
    #: The previewed CSV, parsed again on confirm: nothing is imported until then.
    csv_text = HiddenField(validators=[InputRequired(), Length(max=REGISTER_MAX_CHARS)])
    digest = HiddenField(validators=[InputRequired()])


class ContactForm(FlaskForm):
    kind = RadioField(
        "Kind",
        widget=GovRadioInput(),
        choices=[
            SelectChoice("phone", "Telephone number"),
            SelectChoice("email-domain", "Email domain"),
            SelectChoice("postcode", "Postcode of a council building"),
        ],
        validators=[InputRequired("Choose the kind of contact")],
    )
    value = StringField(
        "Number, domain or postcode",
        widget=GovTextInput(),
        description="For example, 01632 960000 or harbourside.gov.uk",
        validators=[InputRequired("Enter the number, domain or postcode"), Length(max=254)],
    )
    note = StringField(
        "Note (optional)",
        widget=GovTextInput(),
        description="Which department, for example Waste and recycling",
        validators=[Length(max=200)],
    )


class ClosureDayForm(FlaskForm):
    day = DateInputField(
        "Date",
        description="For example, 27 12 2027",
        validators=[InputRequired("Enter the date as a real date, like 27 12 2027")],
    )
    reason = StringField("Reason", widget=GovTextInput(), validators=[Length(max=200)])


class EmergencyInHoursForm(FlaskForm):
    """How emergency posts are sent in office hours (issue 20)."""

    in_hours = RadioField(
        "Emergency posts in office hours",
        widget=GovRadioInput(),
        choices=[SelectChoice(k, label) for k, label in IN_HOURS_CHOICES.items()],
        validators=[InputRequired("Choose how emergency posts are sent in office hours")],
    )


class WebhookForm(FlaskForm):
    """A webhook endpoint (issue 17). The address is checked by gateway.webhooks.addresses:
    https, and not inside the network."""

    url = StringField(
        "Address (URL)",
        widget=GovTextInput(),
        description="Starting https://. Addresses inside the council's network are refused.",
        validators=[DataRequired("Enter the address"), Length(max=2000)],
    )
    description = StringField(
        "Description",
        widget=GovTextInput(),
        description="Which system it is, for example the website's news pages",
        validators=[Length(max=200)],
    )
    events = RolesField(
        "Events it is sent",
        choices=[],
        validators=[DataRequired("Choose at least one event")],
    )
    enabled = RadioField(
        "Send to it",
        widget=GovRadioInput(),
        choices=[SelectChoice("on", "Yes"), SelectChoice("off", "No, not for now")],
        default="on",
        validators=[InputRequired("Choose whether to send to it")],
    )

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        from gateway.webhooks.events import EVENT_TYPES

        self.events.choices = [SelectChoice(k, f"{v} ({k})") for k, v in EVENT_TYPES.items()]


class EmergencyTemplateForm(FlaskForm):
    """A category's prepared emergency text (issue 18): the Welsh one is removed from the form
    when the installation publishes in English only (``one_language``)."""

    text_cy = TextAreaField(
        "Welsh text",
        widget=GovTextArea(),
        validators=[
            InputRequired("Enter the Welsh text of the template"),
            Length(max=5_000, message="The Welsh text must be 5,000 characters or fewer"),
        ],
    )
    text = TextAreaField(
        "English text",
        widget=GovTextArea(),
        validators=[
            InputRequired("Enter the English text of the template"),
            Length(max=5_000, message="The English text must be 5,000 characters or fewer"),
        ],
    )

    def one_language(self) -> None:
        del self.text_cy
