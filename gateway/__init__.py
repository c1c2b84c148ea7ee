"""The Council Publishing Gateway.

Importing this package imports nothing else: the pure domain (``gateway.domain``) and the
offline verifier (``gateway.verify``) must stay free of Flask, SQLAlchemy and RQ, so the app
factory is reached lazily.
"""


def __getattr__(name: str):
    if name == "create_app":
        from gateway.app import create_app

        return create_app
    raise AttributeError(name)
