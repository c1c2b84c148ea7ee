from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.transparency.helpers import demo_leaves, export


@pytest.fixture(scope="session")
def key():
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def demo():
    return demo_leaves(12)


@pytest.fixture
def leaves(demo):
    return list(demo[0])


@pytest.fixture
def log(demo):
    return demo[1]


@pytest.fixture
def export_dir(tmp_path, leaves, log, key):
    return export(tmp_path / "export", leaves, log, key)
