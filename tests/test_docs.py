"""The README documents every setting: its flag and its environment variable."""

import pytest

from conftest import ROOT
from logstream.config import SETTINGS

README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_readme_documents_the_setting(setting):
    row = next((line for line in README.splitlines() if line.startswith(f"| `{setting.flag}`")), None)
    assert row is not None, f"README has no row for {setting.flag}"
    assert f"`{setting.env}`" in row
