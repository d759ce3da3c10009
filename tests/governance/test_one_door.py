"""Admission is the only door: no front builds a job by hand."""

from __future__ import annotations

from pathlib import Path

import bot

ROOT = Path(bot.__file__).parent


def test_new_jobs_are_built_only_by_governance_and_jobs():
    """`NewJob(` appears only under bot/governance/ and bot/jobs/ (the web editor and the CLI go
    through `Admission` too)."""
    outside = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if path.relative_to(ROOT).parts[0] not in ("governance", "jobs") and "NewJob(" in path.read_text()
    ]
    assert outside == []
    assert not (ROOT / "web" / "admit.py").exists()  # WebAdmission is gone: the web uses Admission
