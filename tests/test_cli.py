"""The ``nbrealtime`` command's help: every subcommand says what it does and shows its defaults."""

from __future__ import annotations

import pytest

from nbrealtime.cli import build_parser

SUBCOMMANDS = ["serve", "keys", "sql", "demo"]


def help_text(*argv: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*argv, "--help"])
    assert exited.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal width


def test_the_top_level_help_lists_every_subcommand_with_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys=capsys)
    summaries = {"serve": "run the embedded", "keys": "print SUPABASE_URL", "sql": "print the PostgreSQL",
                 "demo": "open JupyterLab"}  # fmt: skip
    for name, summary in summaries.items():
        assert f"{name} {summary}" in text


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_each_subcommand_has_a_description(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(command, capsys=capsys)
    description = text.split(f"usage: nbrealtime {command}", 1)[1].split("options:", 1)[0]
    assert len(description.split("]")[-1].split()) >= 10, f"{command} --help has no description"


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("serve", ["(default: 127.0.0.1)", "(default: 54321)", "(default: 3000)", "(default: 500)", "(default: 100)"]),
        ("demo", ["(default: 8888)", "(default: the checkout's notebooks/)"]),
    ],
)
def test_help_shows_the_defaults(command: str, shown: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(command, capsys=capsys)
    for default in shown:
        assert default in text
    assert "(default: None)" not in text and "(default: False)" not in text


@pytest.mark.parametrize("command", ["serve", "keys"])
def test_the_data_dir_default_is_the_resolved_folder(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBREALTIME_DATA_DIR", "/srv/nbrt")  # short: argparse breaks long words across lines
    assert "(default: /srv/nbrt)" in help_text(command, capsys=capsys)
