"""Jobs the worker tests enqueue: they take ids and read the database, as real jobs do."""

from gateway.extensions import db
from gateway.models import User

SEEN: list[str] = []


def record_user_email(user_id: int) -> str:
    user = db.session.get(User, user_id)
    SEEN.append(user.email)
    return user.email
