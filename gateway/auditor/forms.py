"""The filter form of the auditors' pages: a GET form (no state changes, so no CSRF token),
each field rendered by its GOV.UK Frontend macro."""

from __future__ import annotations

import re

from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSelect, GovTextInput
from wtforms import Form, IntegerField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from gateway.audit.query import AuditFilter
from gateway.converters import MAX_ID
from gateway.forms.fields import DateInputField, DateOptional
from gateway.transparency.rules import OUTCOMES

#: The actions the gateway writes (grep ``record(`` in gateway/), for the action list.
KNOWN_ACTIONS = (
    "auth.recovery_code_used",
    "auth.recovery_codes_replaced",
    "auth.sign_in_failed",
    "auth.signed_in",
    "auth.sso_failed",
    "auth.two_factor_enrolled",
    "auth.two_factor_failed",
    "channel.bilingual_layout_changed",
    "channel.connected",
    "channel.connection_tested",
    "channel.created",
    "channel.credentials_rotated",
    "channel.disabled",
    "channel.disconnected",
    "channel.enabled",
    "channel.language_changed",
    "channel.needs_reauthorisation",
    "channel.reconnect_refused",
    "channel.reconnected",
    "channel.token_expiry_reminder",
    "channel.token_refresh_failed",
    "channel.token_refreshed",
    "closure_day.added",
    "closure_day.removed",
    "contact.added",
    "contact.removed",
    "delivery.attempt",
    "delivery.blocked",
    "delivery.held",
    "delivery.lookup",
    "delivery.outcome",
    "delivery.released",
    "election.changed",
    "election.created",
    "election.deleted",
    "emergency.fast_track",
    "emergency.published",
    "emergency.reviewed",
    "emergency_template.changed",
    "emergency_template.removed",
    "guardrails.verdict",
    "post.approved",
    "post.cancelled",
    "post.created",
    "post.edited",
    "post.rejected",
    "post.submitted",
    "post.taken_over",
    "referral.decided",
    "register.imported",
    "setting.changed",
    "user.api_token_created",
    "user.api_token_revoked",
    "user.created",
    "user.disabled",
    "user.email_changed",
    "user.email_not_changed",
    "user.enabled",
    "user.password_changed",
    "user.password_reset",
    "user.roles_changed",
    "user.roles_changed_by_groups",
    "user.sessions_ended",
    "user.sso_link_offered",
    "user.sso_linked",
    "user.sso_unlinked",
    "user.two_factor_reset",
    "user.two_factor_secret_rotated",
    "webhook.changed",
    "webhook.created",
    "webhook.deleted",
    "webhook.secret_rotated",
)
ANY = ""
#: The shape of an action in a leaf (gateway.transparency.leaf).
ACTION_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")


class _IdSelect(SelectField):
    widget = GovSelect()

    def pre_validate(self, form: Form) -> None:
        # The choices are built per request; an id that is no longer listed is still a valid
        # filter (a deleted channel's entries stay in the log), so only the shape is checked.
        if self.data and not str(self.data).isdigit():
            raise ValidationError(f"{self.label.text}: choose from the list")


class _ActionSelect(SelectField):
    widget = GovSelect()

    def pre_validate(self, form: Form) -> None:
        # Any action the log can hold is a valid filter, listed or not (an action written by a
        # newer version, or one retired since, still has entries).
        if self.data and not ACTION_PATTERN.fullmatch(self.data):
            raise ValidationError("Action must be a dotted name such as post.approved")


class AuditFilterForm(Form):
    date_from = DateInputField(
        "From", description="For example, 1 11 2026", validators=[DateOptional()]
    )
    date_to = DateInputField(
        "To (inclusive)", description="For example, 30 11 2026", validators=[DateOptional()]
    )
    channel = _IdSelect("Channel", default=ANY)
    officer = _IdSelect("Officer (who acted)", default=ANY)
    action = _ActionSelect(
        "Action",
        choices=[SelectChoice(ANY, "Any action"), *(SelectChoice(a, a) for a in KNOWN_ACTIONS)],
        default=ANY,
    )
    outcome = SelectField(
        "Delivery outcome",
        widget=GovSelect(),
        choices=[
            SelectChoice(ANY, "Any outcome"),
            *(SelectChoice(o, o.replace("_", " ")) for o in sorted(OUTCOMES)),
        ],
        default=ANY,
    )
    rule = StringField(
        "Guardrail rule",
        widget=GovTextInput(),
        description="A rule named in a guardrail verdict, for example political.party",
        validators=[Optional(), Length(max=120)],
    )
    post = IntegerField(
        "Post number",
        widget=GovTextInput(),
        validators=[
            Optional(),
            NumberRange(min=1, max=MAX_ID, message=f"Post number must be between 1 and {MAX_ID:,}"),
        ],
    )
    emergency = RadioField(
        "Emergency posts",
        widget=GovRadioInput(),
        choices=[
            SelectChoice(ANY, "Any"),
            SelectChoice("yes", "Only emergency posts"),
            SelectChoice("no", "No emergency posts"),
        ],
        default=ANY,
    )

    def set_choices(self, channels: list[tuple[int, str]], officers: list[tuple[int, str]]) -> None:
        self.channel.choices = [
            SelectChoice(ANY, "Any channel"),
            *(SelectChoice(str(i), n) for i, n in channels),
        ]
        self.officer.choices = [
            SelectChoice(ANY, "Anyone"),
            *(SelectChoice(str(i), n) for i, n in officers),
        ]

    def validate_date_to(self, field: DateInputField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("To must be the same as or after From")

    def to_filter(self) -> AuditFilter:
        """The filter the (validated) form asks for."""
        return AuditFilter(
            date_from=self.date_from.data,
            date_to=self.date_to.data,
            channel_id=int(self.channel.data) if self.channel.data else None,
            officer_id=int(self.officer.data) if self.officer.data else None,
            action=self.action.data or None,
            outcome=self.outcome.data or None,
            rule=(self.rule.data or "").strip() or None,
            emergency={"yes": True, "no": False}.get(self.emergency.data or ""),
            post_id=self.post.data,
        )
