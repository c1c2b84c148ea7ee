from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovPasswordInput
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length


class SignInForm(FlaskForm):
    # No format check here: a mistyped address simply does not sign in, and the message must
    # not differ from a wrong password's.
    email = EmailField(
        "Email address",
        validators=[DataRequired("Enter your email address"), Length(max=254)],
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password"), Length(max=256)]
    )


class ChangePasswordForm(FlaskForm):
    # Not asked after an admin's reset: the one-time password was used up signing in.
    current_password = PasswordField(
        "Current password", widget=GovPasswordInput(), validators=[Length(max=256)]
    )
    new_password = PasswordField(
        "New password",
        widget=GovPasswordInput(),
        description="At least 12 characters, not one of the most commonly used passwords. "
        "Three or four random words are easy to remember.",
        validators=[DataRequired("Enter a new password"), Length(max=256)],
    )
    confirm_password = PasswordField(
        "New password again",
        widget=GovPasswordInput(),
        validators=[
            DataRequired("Enter the new password again"),
            EqualTo("new_password", "The two new passwords are not the same"),
        ],
    )
