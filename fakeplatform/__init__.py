"""A local stand-in for X and the Graph API (Facebook Pages, Instagram), for tests and training.

Speaks the platforms' real request and answer shapes over HTTP, checks credentials, enforces
their limits, records what it accepted (GET /_fake/posts) and injects faults on request.
"""

from fakeplatform.app import create_app
from fakeplatform.server import serve_in_thread

__all__ = ["create_app", "serve_in_thread"]
