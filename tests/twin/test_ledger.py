"""Energy charged per component equals hand computation (tiny spec)."""

import numpy as np
import pytest

from twin import Mvm, Pulse, Read


def test_read_energy_by_component(chip):
    """8 cells at 1 uS read at 0.2 V for a 2,200 ps row time."""
    r = chip.execute(Read(0, [0], np.arange(8)))
    e = r.energy_pj
    assert e["host_link"] == pytest.approx((26 + 16) * 8 * 0.5)
    assert e["adc"] == pytest.approx(8 * 2.0)
    assert e["dac"] == pytest.approx(1 * 0.5)
    assert e["controller"] == pytest.approx(1.0)
    assert e["static"] == pytest.approx(1.0 * 7_200 * 1e-3)  # 1 mW over the 7,200 ps execution
    assert e["cells"] == pytest.approx(0.2**2 * 8 * 1.0 * 2_200 * 1e-6)


def test_pulse_energy_by_component(chip):
    """Ideal cell: +1 uS per pulse (0.01 uS/(V ns) x 1 V over threshold x 100 ns); V^2 G t at the mean G."""
    r = chip.execute(Pulse(0, [0], [0, 1], "set", 2.0, 100_000, 2.0))
    assert r.energy_pj["dac"] == pytest.approx(2 * 1.0)
    assert r.energy_pj["cells"] == pytest.approx(2 * 2.0**2 * 1.5 * 100_000 * 1e-6)


def test_mvm_dac_energy_counts_driven_rows_per_plane(chip):
    """Input 0.5 -> code 4 = bit 2 only: 8 rows driven once; 3 planes x 8 columns conversions."""
    r = chip.execute(Mvm(0, np.full(8, 0.5)))
    assert r.energy_pj["dac"] == pytest.approx(8 * 0.5)
    assert r.energy_pj["adc"] == pytest.approx(24 * 2.0)


def test_ledger_totals_are_sums_of_results(chip):
    results = [chip.execute(Read(0, [0], np.arange(8))), chip.execute(Pulse(1, [2], [3], "reset", 2.0, 50_000, 2.0)),
               chip.execute(Mvm(1, np.full((3, 8), -0.25)))]
    by_comp = chip.ledger.by_component()
    for comp in by_comp:
        assert by_comp[comp] == pytest.approx(sum(r.energy_pj[comp] for r in results))
    with_static = chip.ledger.by_component(until_ps=chip.now_ps)
    assert with_static["static"] - by_comp["static"] == pytest.approx(2.0 * chip.now_ps * 1e-3)
    by_tile = chip.ledger.by_tile()
    assert by_tile[0] == pytest.approx(results[0].total_energy_pj)
    assert by_tile[1] == pytest.approx(results[1].total_energy_pj + results[2].total_energy_pj)
    kinds = chip.ledger.by_command()
    assert kinds["mvm"]["count"] == 1 and kinds["mvm"]["energy_pj"] == pytest.approx(results[2].total_energy_pj)
    m = chip.ledger.mvm_stats()
    assert m["vectors"] == 3 and m["macs"] == 3 * 64
    assert m["tops_per_w"] == pytest.approx(2 * 3 * 64 / results[2].total_energy_pj)


def test_exports(chip, tmp_path):
    chip.execute(Read(0, [0], [0]))
    chip.execute(Mvm(1, np.zeros(8)))
    chip.ledger.to_csv(tmp_path / "l.csv")
    assert (tmp_path / "l.csv").read_text().splitlines()[0].startswith("cmd_id,kind,tile")
    chip.ledger.to_json(tmp_path / "l.json", chip.now_ps)
    chip.trace.to_chrome(tmp_path / "t.json")
    import json

    events = json.loads((tmp_path / "t.json").read_text())["traceEvents"]
    assert {e["args"]["name"] for e in events if e["name"] == "process_name"} == {"host link", "tile 0", "tile 1"}
    assert all(e["dur"] >= 0 for e in events if e["ph"] == "X")
    assert "energy" in chip.report() or "nJ" in chip.report()
