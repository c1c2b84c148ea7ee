from flask_wtf import FlaskForm
from wtforms import EmailField, SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from gateway.domain.roles import Role

ROLE_CHOICES = [SelectChoice(r.value, r.value.replace("_", " ").capitalize()) for r in Role]


class RolesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class NewUserForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired("Enter an email address")])
    display_name = StringField("Name", validators=[Length(max=120)])
    roles = RolesField("Roles", choices=ROLE_CHOICES, validators=[DataRequired("Choose a role")])


class RolesForm(FlaskForm):
    roles = RolesField("Roles", choices=ROLE_CHOICES, validators=[DataRequired("Choose a role")])


class ConfirmForm(FlaskForm):
    """A form with only its CSRF token, for buttons that change state."""
