"""Tamper evidence for the publish log: canonical JSON, RFC 9162 Merkle trees, signed checkpoints.

Standard library and ``cryptography`` only: the offline verifier ``gateway-verify`` imports this
package on an auditor's machine with no database, Redis or Flask.
"""
