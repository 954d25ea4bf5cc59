"""docs/spec.md is generated from the spec dataclasses and kept in step."""

from memtwin_testing import ROOT
from twin.spec import iter_fields
from twin.spec.chipspec import ChipSpec
from twin.spec.doc import reference_markdown


def test_docs_spec_md_is_up_to_date():
    assert (ROOT / "docs" / "spec.md").read_text().strip() == reference_markdown().strip(), \
        "regenerate with: memtwin spec doc > docs/spec.md"


def test_every_key_is_documented_with_a_meaning():
    text = reference_markdown()
    for path, field, _ in iter_fields(ChipSpec):
        line = next(l for l in text.splitlines() if l.startswith(f"| `{path}` |"))
        assert not line.rstrip().endswith("|  |") or path == "tile.device", f"{path} has no docstring"
