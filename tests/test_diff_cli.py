"""rxpolicy diff on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rxpolicy.server.cli import main


def test_diff_writes_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "diff.html"
    assert main(["diff", "2024-05-16", "2025-03-25", "--semantic", "--format", "html", "-o", str(out)]) == 0
    assert "required bump MINOR" in capsys.readouterr().out
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_diff_prints_json_by_version_or_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "2.1.0", "2021-11-24", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # a date names the record in force today: 3.0.2, the latest correction of 3.0.0
    assert (data["from"]["version"], data["to"]["version"], data["semantic"]) == ("2.1.0", "3.0.2", None)


def test_diff_text_is_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "latest", "latest"]) == 0
    assert "STRUCTURAL CHANGES: none" in capsys.readouterr().out


def test_unknown_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "7.0.0", "latest"]) == 1
    assert "no version '7.0.0'" in capsys.readouterr().err


def test_bad_format_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["diff", "1.0.0", "1.1.0", "--format", "pdf"])
    assert exc.value.code == 2
