"""``gateway-verify EXPORT_DIR [--previous CHECKPOINT] [--key VERIFIER_KEY]``: check an export.

Runs on an auditor's machine with the standard library and ``cryptography`` only: no database,
Redis, Flask or network (issue #8). It checks the verifier key's fingerprint, the checkpoint's
signature, that sequence numbers are contiguous and times never go backwards, the hash chain,
the recomputed Merkle root, inclusion proofs (filtered exports), that the log extends every
older checkpoint given with ``--previous``, the post contents against their hashes, and the
auditor rules (:mod:`gateway.transparency.rules`). It names the first entry that fails and why.

Exit status: 0 when everything holds, 1 when something in the export does not, 2 when the
export or an argument cannot be read at all.
"""

from __future__ import annotations

import argparse
import base64
import gc
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.transparency import parallel
from gateway.transparency.blocks import check_content_block
from gateway.transparency.canonical import CanonicalJSONError, canonical_json
from gateway.transparency.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from gateway.transparency.export import (
    CHECKPOINT_FILE,
    CONSISTENCY_FILE,
    CONTENTS_FILE,
    ENTRIES_FILE,
    INCLUSION_FILE,
    VERIFIER_KEY_FILE,
)
from gateway.transparency.leaf import (
    GENESIS_PREV,
    MAX_LEAF_BYTES,
    LeafChecker,
    LeafError,
    entry_hash,
    parse_canonical,
)
from gateway.transparency.merkle import (
    MerkleProofError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from gateway.transparency.note import NoteError, NoteVerifier, parse_verifier_key
from gateway.transparency.verifier import (
    WHOLE_LOG,
    Finding,
    LogReport,
    LogVerifier,
    check_against_checkpoints,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNREADABLE = 2
#: A bug in this program, not in the export: reported in one line rather than a traceback.
EXIT_INTERNAL = 3

#: Reading in large blocks and splitting them is several times faster than ``readline``.
READ_CHUNK = 1 << 22

#: ``entries.jsonl`` is checked a block of lines at a time (gateway.transparency.blocks); a
#: block of about 150 lines keeps the block's text and values in the processor's cache, which
#: measured faster than both 16 and 1,000 lines a block.
BLOCK_BYTES = 1 << 16

#: Small files (checkpoint, verifier key) are read whole, up to this size.
MAX_SMALL_FILE = 1 << 16

#: A content line holds a post's text and image hashes, never the images themselves.
MAX_CONTENT_BYTES = 1 << 20

#: An inclusion line is a leaf plus at most 64 hex hashes of proof.
MAX_INCLUSION_BYTES = MAX_LEAF_BYTES * 2 + 64 * 70

#: How many findings to print after the first one.
SHOW_FINDINGS = 20


class Unreadable(Exception):
    """The export or an argument cannot be read at all (exit 2)."""


class _LineError(Exception):
    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index, self.reason = index, reason


def iter_lines(path: Path, max_bytes: int) -> Iterator[bytes]:
    """The file's newline-terminated lines, without their newlines, in bounded memory.

    Raises :class:`_LineError` for a line longer than ``max_bytes`` (before reading all of it)
    or a last line with no newline (the file was cut short).
    """
    index = 0
    rest = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            lines = (rest + chunk).split(b"\n") if rest else chunk.split(b"\n")
            rest = lines.pop()
            for line in lines:
                if len(line) > max_bytes:
                    raise _LineError(index, f"the line is longer than {max_bytes} bytes")
                index += 1
                yield line
            if len(rest) > max_bytes:
                raise _LineError(index, f"the line is longer than {max_bytes} bytes")
    if rest:
        raise _LineError(index, "the file ends without a newline: its last line was cut short")


def iter_blocks(
    path: Path, max_bytes: int, block_bytes: int | None = None
) -> Iterator[tuple[list[bytes], bytes]]:
    """The file's lines as :func:`iter_lines` reads them, a block at a time: each block is its
    lines and the bytes they were split from (the lines joined by newlines).

    Raises :class:`_LineError` as :func:`iter_lines` does, after yielding every line before
    the one at fault.
    """
    index = 0
    rest = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(block_bytes or BLOCK_BYTES):
            data = rest + chunk if rest else chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                rest = data
            else:
                raw, rest = data[:cut], data[cut + 1 :]
                lines = raw.split(b"\n")
                if max(map(len, lines)) > max_bytes:
                    # Yield the lines before the first over-long one, then stop there.
                    first = next(i for i, line in enumerate(lines) if len(line) > max_bytes)
                    if first:
                        yield lines[:first], b"\n".join(lines[:first])
                    raise _LineError(index + first, f"the line is longer than {max_bytes} bytes")
                index += len(lines)
                yield lines, raw
            if len(rest) > max_bytes:
                raise _LineError(index, f"the line is longer than {max_bytes} bytes")
    if rest:
        raise _LineError(index, "the file ends without a newline: its last line was cut short")


def _read_small(path: Path, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SMALL_FILE + 1)
    except FileNotFoundError:
        raise Unreadable(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise Unreadable(f"cannot read {what} {path}: {exc.strerror}") from None
    if len(data) > MAX_SMALL_FILE:
        raise Unreadable(f"{what} {path} is larger than {MAX_SMALL_FILE} bytes")
    return data


def _verifier_from(data: bytes, where: str) -> NoteVerifier:
    try:
        return parse_verifier_key(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise Unreadable(f"{where} is not UTF-8 text") from None
    except NoteError as exc:
        raise Unreadable(f"{where}: {exc}") from None


@dataclass
class Result:
    """Everything one run found, for printing."""

    kind: str = "whole"
    verifier: NoteVerifier | None = None
    key_source: str = ""
    checkpoint: Checkpoint | None = None
    previous: list[Checkpoint] = field(default_factory=list)
    report: LogReport = field(default_factory=LogReport)
    contents: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return self.report.failures

    def fail(self, index: int, reason: str) -> None:
        self.report.failures.append(Finding(index, reason))


def _load_keys(export: Path, key: str | None, result: Result) -> NoteVerifier:
    exported_path = export / VERIFIER_KEY_FILE
    exported = None
    if exported_path.exists():
        exported = _verifier_from(_read_small(exported_path, "verifier key"), str(exported_path))
    if key is None:
        if exported is None:
            raise Unreadable(f"{exported_path} does not exist and no --key was given")
        result.key_source = (
            "the export's own verifier-key: compare it with the key the council publishes, "
            "or pass --key"
        )
        return exported
    key_path = Path(key)
    data = _read_small(key_path, "--key file") if key_path.is_file() else key.encode()
    trusted = _verifier_from(data, "--key")
    result.key_source = "--key"
    if exported is not None and exported.key_string() != trusted.key_string():
        result.fail(
            WHOLE_LOG,
            f"the export's verifier-key {exported.name}+{exported.key_id.hex()} is not the "
            f"trusted key {trusted.name}+{trusted.key_id.hex()}",
        )
    return trusted


def _open_checkpoint(
    path: Path, verifier: NoteVerifier, what: str, *, kept_by_hand: bool = False
) -> Checkpoint:
    data = _read_small(path, what)
    if kept_by_hand:
        # A checkpoint saved from an email on Windows gains CRLFs; the signature covers the
        # LF text, so undoing that cannot make a forged checkpoint verify.
        data = data.replace(b"\r\n", b"\n")
    return open_checkpoint(data, verifier)


def verify_export(
    export: Path, *, previous: Sequence[Path] = (), key: str | None = None, jobs: int = 1
) -> Result:
    """Verify the export folder ``export``; raise :class:`Unreadable` if it cannot be read.

    ``jobs`` above 1 checks the entries of a large whole-log export on that many processes
    (:mod:`gateway.transparency.parallel`); the result is the same.
    """
    result = Result()
    if not export.is_dir():
        raise Unreadable(f"{export} is not a folder")
    whole, filtered = (export / ENTRIES_FILE).exists(), (export / INCLUSION_FILE).exists()
    if whole == filtered:
        raise Unreadable(f"{export} holds neither or both of {ENTRIES_FILE} and {INCLUSION_FILE}")
    result.kind = "whole" if whole else "filtered"
    verifier = result.verifier = _load_keys(export, key, result)
    try:
        checkpoint = _open_checkpoint(export / CHECKPOINT_FILE, verifier, "checkpoint")
    except CheckpointError as exc:
        result.fail(WHOLE_LOG, f"the checkpoint does not verify: {exc}")
        return result
    result.checkpoint = checkpoint
    for path in previous:
        try:
            old = _open_checkpoint(path, verifier, "--previous checkpoint", kept_by_hand=True)
        except CheckpointError as exc:
            result.fail(WHOLE_LOG, f"the previous checkpoint {path} does not verify: {exc}")
            continue
        result.previous.append(old)
        if old.size > checkpoint.size:
            result.fail(
                WHOLE_LOG,
                f"the checkpoint covers {checkpoint.size} entries but the previous one covered "
                f"{old.size}: the log was truncated or rolled back",
            )
        elif old.size == checkpoint.size and old.root_hash != checkpoint.root_hash:
            result.fail(
                WHOLE_LOG,
                f"two checkpoints of size {old.size} with different roots: a fork "
                "(the log showed different histories to different people)",
            )
    if result.findings:
        return result
    try:
        if whole:
            _verify_entries(export, checkpoint, result, jobs)
        else:
            _verify_inclusion(export, checkpoint, result)
        if result.report.broken_at is None:
            _verify_contents(export, result)
    except OSError as exc:
        raise Unreadable(f"cannot read {exc.filename or export}: {exc.strerror}") from None
    result.report.failures.sort()
    return result


def _verify_entries(export: Path, checkpoint: Checkpoint, result: Result, jobs: int = 1) -> None:
    consistent = [p for p in result.previous if p.size <= checkpoint.size]
    roots_at = [checkpoint.size, *(p.size for p in consistent)]
    path = export / ENTRIES_FILE
    verifier = None
    if jobs > 1 and path.stat().st_size >= parallel.MIN_PARALLEL_BYTES:
        verifier = _entries_in_parallel(path, roots_at, jobs)
    if verifier is None:
        verifier = LogVerifier(roots_at=roots_at)
        feed_block = verifier.feed_block
        try:
            for lines, raw in iter_blocks(path, MAX_LEAF_BYTES):
                if not feed_block(lines, raw):
                    break
        except _LineError as exc:
            verifier.report.broken_at = exc.index
            verifier.report.failures.append(Finding(exc.index, exc.reason))
    report = result.report = verifier.finish()
    if report.broken_at is None and report.size > checkpoint.size:
        report.failures.append(
            Finding(
                checkpoint.size, "this entry and those after it are not covered by the checkpoint"
            )
        )
    check_against_checkpoints(report, checkpoint, consistent)


def _entries_in_parallel(path: Path, roots_at: list[int], jobs: int) -> LogVerifier | None:
    """The pass over ``path`` on ``jobs`` cores, or ``None`` where it cannot vouch for every
    entry: the caller then checks them all on one core, which names the first that fails."""
    verifier = LogVerifier(roots_at=roots_at)
    try:
        for chunk in parallel.check_chunks(path, jobs):
            verifier.feed_chunk(chunk)
    except parallel.NotSure:
        return None
    return verifier


def _hex_hashes(value: Any) -> list[bytes]:
    if not isinstance(value, list) or len(value) > 64:
        raise ValueError("the proof is not a list of at most 64 hashes")
    try:
        hashes = [bytes.fromhex(h) for h in value]
    except (TypeError, ValueError):
        raise ValueError("a proof hash is not hex") from None
    if any(len(h) != 32 for h in hashes) or any(
        h.hex() != s for h, s in zip(hashes, value, strict=True)
    ):
        raise ValueError("a proof hash is not 64 lowercase hex digits")
    return hashes


def _verify_inclusion(export: Path, checkpoint: Checkpoint, result: Result) -> None:
    report = result.report
    size = checkpoint.size
    checker = LeafChecker()
    last_index, last_hash, last_time = -1, GENESIS_PREV, ""
    try:
        for number, line in enumerate(iter_lines(export / INCLUSION_FILE, MAX_INCLUSION_BYTES)):
            where = f"{INCLUSION_FILE} line {number + 1}"
            try:
                item = parse_canonical(line, max_bytes=MAX_INCLUSION_BYTES)
                if not isinstance(item, dict) or item.keys() != {"index", "leaf", "proof"}:
                    raise ValueError('not an object with "index", "leaf" and "proof"')
                index, text = item["index"], item["leaf"]
                if (
                    not isinstance(index, int)
                    or isinstance(index, bool)
                    or not isinstance(text, str)
                ):
                    raise ValueError('"index" is not an integer or "leaf" is not a string')
                proof = _hex_hashes(item["proof"])
            except (LeafError, ValueError) as exc:
                report.broken_at = number
                result.fail(WHOLE_LOG, f"{where}: {exc}")
                return
            if index <= last_index:
                result.fail(index, f"{where}: indices must increase (after {last_index})")
                report.broken_at = index
                return
            leaf = text.encode("utf-8", errors="surrogatepass")
            try:
                # Proof first: a leaf that is not in the tree (an interior node, say) fails
                # here, whatever its bytes look like.
                verify_inclusion(leaf_hash(leaf), index, size, proof, checkpoint.root_hash)
            except MerkleProofError as exc:
                result.fail(
                    index, f"the inclusion proof does not verify against the checkpoint: {exc}"
                )
                report.broken_at = index
                return
            try:
                entry = parse_canonical(leaf)
                checker.check(entry)
            except LeafError as exc:
                result.fail(index, str(exc))
                report.broken_at = index
                return
            if entry["seq"] != index:
                result.fail(index, f'"seq" is {entry["seq"]} but the leaf is at index {index}')
                report.broken_at = index
                return
            if index == last_index + 1 and (
                entry["prev"] != last_hash or entry["time"] < last_time
            ):
                result.fail(index, "hash chain or time order broken with the entry before it")
                report.broken_at = index
                return
            if entry["content_sha256"] is not None:
                report.content_hashes.setdefault(entry["content_sha256"], index)
            if report.size == 0:
                report.first_time = entry["time"]
            report.size += 1
            report.last_time = entry["time"]
            last_index, last_hash, last_time = index, entry_hash(leaf), entry["time"]
    except _LineError as exc:
        result.fail(WHOLE_LOG, f"{INCLUSION_FILE} line {exc.index + 1}: {exc.reason}")
        report.broken_at = exc.index
        return
    report.root = checkpoint.root_hash
    _verify_consistency_file(export, checkpoint, result)


def _verify_consistency_file(export: Path, checkpoint: Checkpoint, result: Result) -> None:
    older = [p for p in result.previous if p.size < checkpoint.size]
    if not older:
        return
    proofs: dict[int, list[bytes]] = {}
    path = export / CONSISTENCY_FILE
    if path.exists():
        try:
            for number, line in enumerate(iter_lines(path, MAX_SMALL_FILE)):
                item = parse_canonical(line)
                if not isinstance(item, dict) or item.keys() != {"old_size", "proof"}:
                    raise ValueError(f"line {number + 1} is not {{old_size, proof}}")
                if not isinstance(item["old_size"], int):
                    raise ValueError(f"line {number + 1}: old_size is not an integer")
                proofs[item["old_size"]] = _hex_hashes(item["proof"])
        except (LeafError, ValueError, _LineError) as exc:
            result.fail(WHOLE_LOG, f"{CONSISTENCY_FILE}: {exc}")
            return
    for old in older:
        proof = proofs.get(old.size)
        if proof is None:
            result.fail(
                WHOLE_LOG,
                f"the export has no consistency proof from size {old.size}; ask for a filtered "
                "export that includes one, or verify a whole-log export",
            )
            continue
        try:
            verify_consistency(
                old.size, checkpoint.size, proof, old.root_hash, checkpoint.root_hash
            )
        except MerkleProofError as exc:
            result.fail(
                WHOLE_LOG,
                f"the log does not extend the previous checkpoint of size {old.size}: {exc} "
                "(rewritten history, rollback or fork)",
            )


_CONTENT_HEAD = b'{"content":'
_CONTENT_TAIL = len(b',"sha256":"') + 64 + len(b'"}')


def _content_digest(line: bytes, item: dict[str, Any]) -> str:
    """The hash of the content's canonical bytes.

    ``line`` is already known to be canonical, and the canonical form of an object is made of
    its members' canonical forms, so the content's bytes are the line between its fixed head
    and tail; hashing that slice avoids re-encoding every post.
    """
    digest = item["sha256"]
    if (
        isinstance(digest, str)
        and len(digest) == 64
        and line.startswith(_CONTENT_HEAD)
        and line.endswith(b',"sha256":"' + digest.encode() + b'"}')
    ):
        return entry_hash(line[len(_CONTENT_HEAD) : -_CONTENT_TAIL])
    try:
        return entry_hash(canonical_json(item["content"]))
    except CanonicalJSONError:
        return ""


def _verify_contents(export: Path, result: Result) -> None:
    referenced = result.report.content_hashes
    path = export / CONTENTS_FILE
    found: set[str] = set()
    if path.exists():
        try:
            number = -1
            for lines, raw in iter_blocks(path, MAX_CONTENT_BYTES):
                digests = check_content_block(lines, raw)
                if (
                    digests is not None
                    and len(set(digests)) == len(digests)
                    and found.isdisjoint(digests)
                ):
                    found.update(digests)
                    number += len(lines)
                    continue
                if not _contents_one_by_one(lines, number, referenced, found, result):
                    return
                number += len(lines)
        except _LineError as exc:
            result.fail(WHOLE_LOG, f"{CONTENTS_FILE} line {exc.index + 1}: {exc.reason}")
            return
    result.contents = len(found)
    missing = [(index, digest) for digest, index in referenced.items() if digest not in found]
    for index, digest in sorted(missing)[:SHOW_FINDINGS]:
        result.fail(index, f"refers to post content {digest[:16]}... which {CONTENTS_FILE} lacks")


def _contents_one_by_one(
    lines: list[bytes], before: int, referenced: dict[str, int], found: set[str], result: Result
) -> bool:
    """Check content lines one at a time (line ``before + 1`` first); ``False`` at a failure."""
    for number, line in enumerate(lines, start=before + 1):
        where = f"{CONTENTS_FILE} line {number + 1}"
        try:
            item = parse_canonical(line, max_bytes=MAX_CONTENT_BYTES)
        except LeafError as exc:
            result.fail(WHOLE_LOG, f"{where}: {exc}")
            return False
        if not isinstance(item, dict) or item.keys() != {"content", "sha256"}:
            result.fail(WHOLE_LOG, f'{where}: not an object with "content" and "sha256"')
            return False
        digest = item["sha256"]
        actual = _content_digest(line, item)
        if actual != digest:
            first = referenced.get(digest) if isinstance(digest, str) else None
            where_used = f" (entry {first} refers to it)" if first is not None else ""
            result.fail(
                WHOLE_LOG,
                f"{where}: the content does not match its hash {str(digest)[:16]}...: "
                f"it was altered{where_used}",
            )
            return False
        if digest in found:
            result.fail(WHOLE_LOG, f"{where}: content {digest[:16]}... appears twice")
            return False
        found.add(digest)
    return True


def _count(n: int) -> str:
    return f"{n:,}"


def render(result: Result, export: Path) -> str:
    """The report a person reads."""
    report, lines = result.report, []
    findings = sorted(result.findings)
    if findings:
        first = findings[0]
        where = ""
        if first.index >= 0 and result.kind == "whole":
            where = f" (line {first.index + 1} of {ENTRIES_FILE})"
        lines.append(f"FAILED: {first}{where}")
        for finding in findings[1 : SHOW_FINDINGS + 1]:
            lines.append(f"  also: {finding}")
        if len(findings) > SHOW_FINDINGS + 1:
            lines.append(f"  ... and {len(findings) - SHOW_FINDINGS - 1} more")
    else:
        lines.append(f"OK: the {result.kind} export {export} verifies.")
    if result.verifier is not None:
        key = f"{result.verifier.name}+{result.verifier.key_id.hex()}"
        lines.append(f"  key         {key} (from {result.key_source})")
    cp = result.checkpoint
    if cp is not None:
        root = base64.b64encode(cp.root_hash).decode()
        lines.append(f"  checkpoint  {cp.origin}, size {_count(cp.size)}, root {root}")
    if not findings:
        span = f" ({report.first_time} to {report.last_time})" if report.size else ""
        noun = "matching entries" if result.kind == "filtered" else "entries"
        lines.append(f"  entries     {_count(report.size)} {noun}{span}")
        for old in result.previous:
            lines.append(f"  previous    size {_count(old.size)}: the log extends it")
        lines.append(f"  contents    {_count(result.contents)} post contents match their hashes")
        if result.kind == "whole":
            lines.append(
                f"  rules       {_count(report.attempts)} delivery attempts, "
                f"{_count(report.published)} published: each approved by a second person who "
                "neither wrote nor changed it, or an emergency post; each attempt has one "
                "outcome; nothing published twice"
            )
        else:
            lines.append("  rules       not checked: a filtered export is not the whole log")
    for note in report.pending[:SHOW_FINDINGS]:
        lines.append(f"  pending     {note}")
    for note in report.flags[:SHOW_FINDINGS]:
        lines.append(f"  review      {note}")
    if len(report.flags) > SHOW_FINDINGS:
        lines.append(f"  review      ... and {len(report.flags) - SHOW_FINDINGS} more to review")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="gateway-verify",
        description="Verify an export of the Council Publishing Gateway's publish log offline.",
    )
    parser.add_argument("export_dir", type=Path, help="the export folder")
    parser.add_argument(
        "--previous",
        type=Path,
        action="append",
        default=[],
        metavar="CHECKPOINT",
        help="an older checkpoint you kept; the log must extend it (repeatable)",
    )
    parser.add_argument(
        "--key",
        metavar="VERIFIER_KEY",
        help="the verifier key you trust (the key line, or a file holding it)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="processes to check the entries with (default: every core; 1: this process only)",
    )
    args = parser.parse_args(argv)
    jobs = parallel.default_jobs() if args.jobs is None else args.jobs
    if jobs < 1:
        parser.error("--jobs must be 1 or more")
    # The pass makes millions of short-lived objects and no reference cycles, so the cycle
    # collector only re-walks what is alive, again and again (an eighth of the run, measured);
    # reference counting still frees everything as it goes.
    collecting = gc.isenabled()
    gc.disable()
    try:
        result = verify_export(args.export_dir, previous=args.previous, key=args.key, jobs=jobs)
    except Unreadable as exc:
        print(f"gateway-verify: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except Exception as exc:  # noqa: BLE001 - an auditor gets one line, never a traceback
        print(f"gateway-verify: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        if collecting:
            gc.enable()
    print(render(result, args.export_dir))
    return EXIT_FAILED if result.findings else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
