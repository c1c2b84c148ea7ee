"""Fuzz the verifier's parsers: any bytes give a verdict or a clear error, never a crash."""

from __future__ import annotations

import json
import shutil

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gateway.transparency.canonical import canonical_json
from gateway.transparency.demo import DEMO_ORIGIN, DemoLog
from gateway.transparency.export import write_filtered_export
from gateway.transparency.leaf import LeafError, parse_canonical, parse_leaf
from gateway.verify import EXIT_FAILED, EXIT_OK, EXIT_UNREADABLE, main
from tests.transparency.helpers import export

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.binary(max_size=600))
@example(b"[" * 5000)
@example(b'{"a":1,"a":1}')
@example(b"\xed\xa0\x80")
@example(b'"\\ud800"')
@example(b"1e400")
@example(b"NaN")
def test_any_bytes_parse_or_raise_leaf_error(data):
    try:
        parse_leaf(data)
    except LeafError as exc:
        assert str(exc)


@given(json_values)
def test_the_fast_path_agrees_with_rfc_8785(value):
    try:
        canonical = canonical_json(value)
    except ValueError:
        return  # integers beyond 2**53 have no canonical form here
    assert parse_canonical(canonical) == value
    loose = json.dumps(value, ensure_ascii=True).encode()
    if loose != canonical:
        try:
            parse_canonical(loose)
        except LeafError:
            pass
        else:
            raise AssertionError(f"accepted non-canonical {loose!r}")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    log = DemoLog(2)
    return export(tmp_path_factory.mktemp("fuzz") / "x", list(log.leaves()), log,
                  Ed25519PrivateKey.generate())  # fmt: skip


@pytest.fixture(scope="module")
def pristine_filtered(tmp_path_factory):
    log = DemoLog(2)
    folder = tmp_path_factory.mktemp("fuzz") / "f"
    write_filtered_export(
        folder, list(log.leaves()), [0, 2, 7], log.content,
        private_key=Ed25519PrivateKey.generate(), origin=DEMO_ORIGIN, consistency_from=[3],
    )  # fmt: skip
    return folder


@given(st.data())
@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_mutated_exports_never_crash_the_verifier(
    tmp_path_factory, capsys, pristine, pristine_filtered, data
):
    source = data.draw(st.sampled_from([pristine, pristine_filtered]))
    folder = tmp_path_factory.mktemp("fuzz") / "x"
    shutil.copytree(source, folder)
    files = sorted(p.name for p in source.iterdir() if p.name != "entries.csv")
    path = folder / data.draw(st.sampled_from(files))
    raw = bytearray(path.read_bytes()) or bytearray(b"\n")
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    path.write_bytes(bytes(raw))
    previous = ["--previous", str(source / "checkpoint")] if data.draw(st.booleans()) else []
    code = main([str(folder), *previous])
    out, err = capsys.readouterr()
    assert code in {EXIT_OK, EXIT_FAILED, EXIT_UNREADABLE}, err
    assert "Traceback" not in out + err


def _reference_is_canonical(data: bytes) -> bool:
    """RFC 8785 by the independent ``rfc8785`` package: parse, re-encode, compare."""
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
        return rfc8785.dumps(value) == data
    except (ValueError, RecursionError, rfc8785.CanonicalizationError, _Duplicate):
        return False


class _Duplicate(Exception):
    pass


def _no_duplicates(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _Duplicate
    return dict(pairs)


_MUTATIONS = [
    lambda text, i: text[:i] + " " + text[i:],
    lambda text, i: text[:i] + text[i + 1 :],
    lambda text, i: text[:i] + "\\u0041" + text[i:],
    lambda text, i: text[:i] + "-0" + text[i:],
    lambda text, i: text[:i] + ',"a":1' + text[i:],
    lambda text, i: text[:i] + "\\/" + text[i:],
    lambda text, i: text[:i] + "1e2" + text[i:],
    lambda text, i: text[:i] + "\U0001f600" + text[i:],
]


@given(json_values, st.integers(0, 10_000), st.sampled_from(range(len(_MUTATIONS))))
@settings(max_examples=400)
def test_acceptance_matches_an_independent_rfc_8785_implementation(value, where, mutation):
    try:
        text = canonical_json(value).decode()
    except ValueError:
        return
    mutated = _MUTATIONS[mutation](text, where % (len(text) + 1)).encode("utf-8", "surrogatepass")
    for candidate in (text.encode(), mutated):
        reference = _reference_is_canonical(candidate)
        try:
            parse_canonical(candidate)
        except LeafError as exc:
            # Refusing canonical JSON is allowed only for nesting deeper than the leaf allows.
            assert not reference or "nested more than" in str(exc), (candidate, exc)
        else:
            assert reference, f"accepted non-canonical {candidate!r}"
