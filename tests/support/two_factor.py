"""A test's authenticator app: enrols users through the gateway's own enrolment and makes the
codes a phone would (pyotp, the real clock or the test's frozen one).

Admins, monitoring officers and duty officers must use two-factor (issue 16), so the test
helpers enrol them when they are created (``enrol``) and answer the code step when they sign in
(``tests.conftest.AuthActions.sign_in``, ``tests.browser.conftest.Window.sign_in``). A code is
never accepted twice, so signing the same person in again within 30 seconds takes the next
step's code, and after that one of their recovery codes, as a person would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gateway.domain import totp


@dataclass
class Authenticator:
    email: str
    secret: str
    recovery_codes: list[str] = field(default_factory=list)
    last_step: int | None = None

    def code_at(self, step: int) -> str:
        return totp.code_for_step(self.secret, step)

    def now(self) -> str:
        return self.code_at(totp.step_at(time.time()))

    def next_code(self) -> str | None:
        """A code the gateway has not seen yet, or None when this window's are used up. Now's
        step first, then the next one (both still valid if the step turns while the request
        is on its way); never the previous step, which could expire in transit."""
        now = totp.step_at(time.time())
        for step in (now, now + 1):
            if self.last_step is None or step > self.last_step:
                self.last_step = step
                return self.code_at(step)
        return None

    def next_recovery_code(self) -> str:
        assert self.recovery_codes, f"{self.email} has no recovery codes left"
        return self.recovery_codes.pop(0)


#: Everyone the helpers have enrolled in this test run, by email.
AUTHENTICATORS: dict[str, Authenticator] = {}


def enrol(app, user_id: int) -> Authenticator:
    """Enrol the user through the gateway's enrolment (begin, then the app's first code)."""
    from gateway.auth import two_factor
    from gateway.extensions import db
    from gateway.models import User

    with app.app_context():
        user = db.session.get(User, user_id)
        secret = two_factor.begin(user)
        app_ = Authenticator(user.email, secret)
        now = totp.step_at(time.time())
        # The previous step's code first, so this step and the next stay free for signing in;
        # if the step turned meanwhile, this step's.
        for step in (now - 1, now):
            try:
                codes = two_factor.confirm_enrolment(user, app_.code_at(step))
            except two_factor.CodeRefused:
                continue
            app_.last_step = step
            app_.recovery_codes = list(codes)
            break
        else:
            raise AssertionError("the enrolment refused the app's code")
        db.session.commit()
    AUTHENTICATORS[app_.email] = app_
    return app_


def needs_two_factor(app, roles) -> bool:
    from gateway.auth.two_factor import REQUIRED_ROLES
    from gateway.settings import TWO_FACTOR_EVERYONE

    if app.config.get("TWO_FACTOR_REQUIRED") == TWO_FACTOR_EVERYONE:
        return True
    return any(role in REQUIRED_ROLES for role in roles)
