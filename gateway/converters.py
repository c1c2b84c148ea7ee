"""URL converters that refuse numbers no row can have, with a 404 rather than a 500.

``/posts/99999999999999999999999999999999999999999999999999`` reached the database as a number
SQLite cannot hold (OverflowError) and PostgreSQL refused as out of range for its column
(issue #20). Registered once, in the application factory, in place of Werkzeug's ``int``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, ValidationError

#: PostgreSQL's ``integer``: the type of every id column but the publish log's.
MAX_ID = 2**31 - 1
#: PostgreSQL's ``bigint``: the publish log's sequence numbers.
MAX_BIG_ID = 2**63 - 1


class IdConverter(IntegerConverter):
    """A positive whole number no larger than the column holds; anything else is a 404."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        # A number too long to parse cheaply (Python refuses over 4,300 digits) is out of range.
        if len(value) > len(str(self.max)):
            raise ValidationError()
        return super().to_python(value)


class BigIdConverter(IdConverter):
    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("max", MAX_BIG_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Before any blueprint is registered: rules take their converter when they are added."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["bigint"] = BigIdConverter
