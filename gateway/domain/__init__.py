"""The pure policy domain: no Flask, SQLAlchemy or RQ import anywhere below this package.

The web form, the JSON API and the worker all ask the same functions here.
"""
