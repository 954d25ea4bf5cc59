"""The README stays true: its two commands are the CI's, and its firmware example runs."""

import re

from memtwin_testing import ROOT

README = (ROOT / "README.md").read_text()


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_readme_starts_with_the_two_commands_and_ci_runs_the_second():
    demo, tests = _blocks("bash")[:2]
    assert "memtwin demo" in demo and "pytest" in tests
    assert README.index("```bash") < README.index("## ")
    assert tests.strip() in (ROOT / ".ci" / "run").read_text()


def test_readme_firmware_example_runs(capsys):
    example = _blocks("python")[0]
    exec(compile(example, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "(16, 256)" in out and "TOPS/W" in out
