"""The GOV.UK Frontend form layer: govuk-frontend-jinja macros rendered through
govuk-frontend-wtf widgets, with the error summary built once in the base layout."""

from gateway.forms.jinja import GovukTolerantUndefined, init_app
from gateway.forms.summary import error_list

__all__ = ["GovukTolerantUndefined", "error_list", "init_app"]
