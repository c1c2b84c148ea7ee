"""Property tests for the pure helpers: text matching, scrubbing, address classification."""

from __future__ import annotations

import html
import string

from hypothesis import given
from hypothesis import strategies as st

from gateway.platforms.common import same_text
from gateway.platforms.transport import REDACTED, scrub
from gateway.platforms.urls import is_public_url

TOKENS = st.text(alphabet=string.ascii_letters + string.digits + "-_.~", min_size=6, max_size=60)
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)


@given(TEXT)
def test_text_matches_itself_as_a_platform_returns_it(text):
    # X HTML-escapes &, < and > in v2 text and platforms trim surrounding whitespace.
    assert same_text(text, f"  {html.escape(text, quote=False)}\n")


@given(TEXT, st.text(alphabet=string.ascii_letters, min_size=1, max_size=20))
def test_text_with_more_words_does_not_match(text, extra):
    assert not same_text(text, f"{text} {extra}")


@given(TOKENS)
def test_a_registered_secret_never_survives_scrubbing(token):
    assert token not in scrub(f"before {token} after", [token])


@given(TOKENS, st.sampled_from(["access_token", "oauth_token", "oauth_signature"]))
def test_credential_parameters_are_scrubbed_without_knowing_the_value(token, name):
    for text in (f"GET /me?{name}={token}&a=1", f'OAuth {name}="{token}", x="1"'):
        cleaned = scrub(text)
        assert f"{name}={token}" not in cleaned and f'{name}="{token}"' not in cleaned
        assert REDACTED in cleaned


@given(
    st.one_of(
        st.ip_addresses(network="10.0.0.0/8"),
        st.ip_addresses(network="172.16.0.0/12"),
        st.ip_addresses(network="192.168.0.0/16"),
        st.ip_addresses(network="127.0.0.0/8"),
        st.ip_addresses(network="169.254.0.0/16"),
        st.ip_addresses(network="fc00::/7"),
        st.ip_addresses(network="fe80::/10"),
    )
)
def test_no_private_address_is_public(address):
    host = f"[{address}]" if address.version == 6 else str(address)
    assert is_public_url(f"http://{host}/image.jpg") is False
