"""Tamper evidence for the publish log: canonical JSON, RFC 9162 Merkle trees, signed checkpoints.

Standard library and ``cryptography`` only: the offline verifier ``gateway-verify`` imports this
package on an auditor's machine with no database, Redis or Flask (issue #8).

- :mod:`.canonical`: ``canonical_json`` (RFC 8785 for the values leaves hold).
- :mod:`.leaf`: the leaf format: ``build_leaf``, ``parse_leaf``, ``entry_hash``,
  ``content_hash``, ``format_time``.
- :mod:`.merkle`: RFC 9162 hashing, ``RootBuilder`` (streaming root), ``MerkleTree``
  (inclusion and consistency proofs), ``verify_inclusion``, ``verify_consistency``.
- :mod:`.note` and :mod:`.checkpoint`: C2SP signed notes and tlog-checkpoints, the log's
  Ed25519 key file (``generate_signing_key``, ``load_signing_key``).
- :mod:`.chain`, :mod:`.rules`, :mod:`.verifier`: ``verify_chain``, the auditor rules, and
  ``verify_leaves``, the whole check the app's ``gateway audit verify`` and ``gateway-verify``
  share.
- :mod:`.export`: whole-log and filtered exports and the CSV writer.
- :mod:`.demo`: a made-up log for practice, tests and the benchmark.
"""
