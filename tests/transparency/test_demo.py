"""The practice log the auditor's guide (docs/audit.md) walks through."""

from __future__ import annotations

from gateway.transparency.demo import main as demo_main
from tests.transparency.helpers import run


def test_the_worked_example_of_docs_audit_md(capsys, tmp_path):
    key = tmp_path / "council-demo.key"
    assert demo_main([str(tmp_path / "october"), "--posts", "2", "--key", str(key)]) == 0
    assert demo_main([str(tmp_path / "november"), "--posts", "3", "--key", str(key)]) == 0
    rewritten = tmp_path / "rewritten"
    assert demo_main([str(rewritten), "--posts", "3", "--key", str(key), "--rewrite", "4"]) == 0
    capsys.readouterr()
    october = tmp_path / "october" / "checkpoint"
    trusted = (tmp_path / "october" / "verifier-key").read_text().strip()
    code, out = run(capsys, tmp_path / "november", "--previous", october, "--key", trusted)
    assert code == 0, out
    assert "previous    size 16: the log extends it" in out
    assert "6 delivery attempts, 6 published" in out
    assert run(capsys, rewritten)[0] == 0
    code, out = run(capsys, rewritten, "--previous", october)
    assert code == 1
    assert out.startswith("FAILED: the first 16 entries do not hash to the previous checkpoint")
