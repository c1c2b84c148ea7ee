from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length


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
