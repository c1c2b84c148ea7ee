"""Writing and checking the hash-chained audit log."""

from gateway.audit.log import Actor, ChainProblem, content_of, record, verify_chain

__all__ = ["Actor", "ChainProblem", "content_of", "record", "verify_chain"]
