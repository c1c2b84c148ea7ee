"""Fields whose messages follow the GOV.UK Design System's error message patterns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from govuk_frontend_wtf.wtforms_widgets import GovDateInput
from wtforms import DateField

#: GOV.UK "Date input": the three boxes arrive as day, month, year.
DATE_PARTS = 3
#: The years a date box accepts. Nothing the council dates is before 1000 or after 9000, and
#: the pages add days and weeks to the dates they are given: at 9999 that overflowed Python's
#: date into a 500 (issue #20).
MIN_YEAR, MAX_YEAR = 1000, 9000
#: Digits a box may hold: int() of a very long string is slow, or refused past 4,300 digits.
MAX_PART_DIGITS = 4


class DateInputField(DateField):
    """A GOV.UK date input (day, month, year boxes) that says which part is wrong."""

    widget = GovDateInput()

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("format", "%d %m %Y")
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        # Always three boxes, whatever arrived: the widget unpacks exactly three, and a form
        # posted without the boxes (or with extra ones) must be refused, not crash.
        parts = [(v or "").strip() for v in (list(valuelist) + [""] * DATE_PARTS)[:DATE_PARTS]]
        self.raw_data = parts
        if not any(parts):
            self.data = None
            return
        names = ("a day", "a month", "a year")
        missing = [name for name, part in zip(names, parts, strict=False) if not part]
        if missing:
            self.data = None
            raise ValueError(f"{self.label.text} must include {' and '.join(missing)}")
        try:
            if any(len(p) > MAX_PART_DIGITS for p in parts):
                raise ValueError
            day, month, year = (int(p) for p in parts)
            if not MIN_YEAR <= year <= MAX_YEAR:
                raise ValueError
            self.data = date(year, month, day)
        except ValueError:
            self.data = None
            raise ValueError(f"{self.label.text} must be a real date, like 27 3 2027") from None

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        if isinstance(self.data, date | datetime):
            return self.data.strftime("%d %m %Y")
        return ""


class DateOptional:
    """Optional for a date input: only when all three boxes are empty. WTForms' Optional looks
    at the first box alone, so '', '3', '2027' would silently drop the month and year."""

    field_flags = {"optional": True}

    def __call__(self, form: Any, field: DateInputField) -> None:
        from wtforms.validators import StopValidation

        if not any((v or "").strip() for v in (field.raw_data or [])):
            field.errors[:] = []
            raise StopValidation()
