"""Wire GOV.UK Frontend's Jinja macros into the app, keeping our own templates strict.

The app renders with :class:`jinja2.StrictUndefined` so a typo in one of our templates breaks a
test (STYLE.md, from GOV.UK Notify). The GOV.UK macros are a line-by-line port of Nunjucks, which
tests optional parameters by truthiness (``{% if params.classes %}``): under a strict undefined
every one of those raises. :class:`GovukTolerantUndefined` is strict everywhere except while a
template from the two GOV.UK packages is on the stack, where it behaves like Jinja's default.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from flask import Flask
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import (
    BytecodeCache,
    ChoiceLoader,
    PackageLoader,
    PrefixLoader,
    StrictUndefined,
    Undefined,
)
from jinja2.bccache import Bucket

#: Template packages whose macros follow the Nunjucks convention of optional parameters.
TOLERANT_PACKAGES = ("govuk_frontend_jinja", "govuk_frontend_wtf")
#: Stack frames looked at before deciding the caller is ours; macros nest a few levels deep.
MAX_FRAMES = 40


def _called_from_govuk_template() -> bool:
    frame = sys._getframe(2)
    for _ in range(MAX_FRAMES):
        if frame is None:
            return False
        name = frame.f_code.co_filename
        if name.endswith(".html"):
            # The first template frame decides: our template calling a GOV.UK macro stays strict.
            return any(f"/{package}/" in name for package in TOLERANT_PACKAGES)
        frame = frame.f_back
    return False


def _lenient(name: str) -> Any:
    # Jinja's default Undefined has no __contains__: ``x in undefined`` iterates it (empty).
    lenient = getattr(Undefined, name, lambda self, *args: False)
    strict = getattr(StrictUndefined, name)

    def method(self: Undefined, *args: Any) -> Any:
        if _called_from_govuk_template():
            return lenient(self, *args)
        return strict(self, *args)

    method.__name__ = name
    return method


class GovukTolerantUndefined(StrictUndefined):
    """Strict in our templates, forgiving inside the GOV.UK Frontend macros."""

    __slots__ = ()
    __iter__ = _lenient("__iter__")
    __str__ = _lenient("__str__")
    __len__ = _lenient("__len__")
    __bool__ = _lenient("__bool__")
    __eq__ = _lenient("__eq__")
    __ne__ = _lenient("__ne__")
    __contains__ = _lenient("__contains__")
    __hash__ = Undefined.__hash__


class SharedBytecodeCache(BytecodeCache):
    """Compiled templates kept for the whole process, keyed by name and source checksum.

    The GOV.UK macros are many small templates: compiling them costs about a second, once per
    Flask app. Production builds one app a process, but the test suite builds hundreds; sharing
    the compiled code (Jinja recompiles a template whose source changed) keeps tests fast.
    """

    def __init__(self) -> None:
        self._store: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            data = self._store.get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: Bucket) -> None:
        data = bucket.bytecode_to_string()
        with self._lock:
            self._store[bucket.key] = data


_BYTECODE = SharedBytecodeCache()


def init_app(app: Flask) -> None:
    app.jinja_env.bytecode_cache = _BYTECODE
    app.jinja_loader = ChoiceLoader(
        [
            app.jinja_loader,
            PrefixLoader(
                {package: PackageLoader(package) for package in TOLERANT_PACKAGES},
            ),
        ]
    )
    app.jinja_env.undefined = GovukTolerantUndefined
    WTFormsHelpers(app)
