"""The memtwin command line."""

import subprocess
import sys

from memtwin.cli import main
from memtwin_testing import SPECS


def test_spec_check_ok(capsys):
    assert main(["spec", "check", str(SPECS / "tiny.yaml")]) == 0
    assert "tiny: 2 tile(s) of 8 x 8" in capsys.readouterr().out


def test_spec_check_error_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text((SPECS / "tiny.yaml").read_text().replace("bits: 8\n    t_convert", "bits: 0\n    t_convert"))
    assert main(["spec", "check", str(bad)]) == 2
    assert "bad.yaml:39: tile.adc.bits: must be an integer in [1, 16], not 0" in capsys.readouterr().err


def test_spec_show_and_list(capsys):
    assert main(["spec", "show", "default"]) == 0
    assert "name: default" in capsys.readouterr().out
    assert main(["spec", "list"]) == 0
    assert "default" in capsys.readouterr().out
    assert main(["spec", "show", "nope"]) == 2


def test_console_script_runs_as_module():
    out = subprocess.run([sys.executable, "-m", "memtwin.cli", "spec", "list"], capture_output=True, text=True)
    assert out.returncode == 0 and "default" in out.stdout
