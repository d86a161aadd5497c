"""The README documents every setting: its flag, its environment variable and its
real default, and names no setting that does not exist."""

import re

import pytest

from conftest import ROOT
from logstream.config import SERVE, SETTINGS

README = (ROOT / "README.md").read_text()
BY_FLAG = {s.flag: s for s in SETTINGS}


def configuration_table() -> dict[str, list[str]]:
    """The README's configuration table: first cell without backticks (``--port``, ``DIR``) → its cells."""
    lines = README.splitlines()
    start = lines.index("| flag | environment | default | meaning |")
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows[cells[0].strip("`")] = cells
    return rows


def means_default(text: str, default: object) -> bool:
    """Whether a README default cell (``15``, ``none (closed)``, ``off``) states ``default``."""
    text = re.sub(r"\(.*?\)", "", text).replace("`", "").strip().lower()
    if text == "none":
        return default is None or default in ("", ())
    if text == "off":
        return default is False
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        try:
            return float(text) == default
        except ValueError:
            return False
    return text == str(default).lower()


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_readme_documents_the_setting(setting):
    row = next((line for line in README.splitlines() if line.startswith(f"| `{setting.flag}`")), None)
    assert row is not None, f"README has no row for {setting.flag}"
    assert f"`{setting.env}`" in row


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_readme_default_column_is_the_real_default(setting):
    default = configuration_table()[setting.flag][2]
    assert means_default(default, setting.default), f"README says {default!r}, the default is {setting.default!r}"


def test_every_readme_row_names_a_real_setting():
    assert set(configuration_table()) <= set(BY_FLAG)


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_readme_says_agent_only_exactly_for_the_agents_own_settings(setting):
    meaning = configuration_table()[setting.flag][3]
    assert meaning.startswith("agent only") == (SERVE not in setting.commands), meaning


@pytest.mark.parametrize("text,default,agrees", [
    ("`15`", 15.0, True),
    ("`1`", 1.0, True),
    ("`0` (no limit)", 0, True),
    ("none (closed)", (), True),
    ("none", "", True),
    ("none", 0, False),
    ("off", False, True),
    ("off", None, False),
    ("`INFO`", "INFO", True),
    ("`100`", 1000, False),
])
def test_the_default_column_is_read_as_meant(text, default, agrees):
    assert means_default(text, default) is agrees
