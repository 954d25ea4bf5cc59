import pytest

from twin.units import power_time_to_pj, ps_to, to_ps, transfer_ps


@pytest.mark.parametrize("value, unit, ps", [(1.1, "ns", 1100), ("2.5", "us", 2_500_000), (3, "ps", 3), (0, "s", 0),
                                             (0.15, "ns", 150)])
def test_to_ps_converts_exactly(value, unit, ps):
    assert to_ps(value, unit) == ps


def test_to_ps_refuses_to_round():
    with pytest.raises(ValueError, match=r"^0.0005 ns is not a whole number of picoseconds$"):
        to_ps(0.0005, "ns")


def test_to_ps_rejects_unknown_unit_and_non_numbers():
    with pytest.raises(ValueError, match="unknown time unit 'min'"):
        to_ps(1, "min")
    with pytest.raises(ValueError, match="is not a number"):
        to_ps("fast", "ns")


def test_helpers():
    assert ps_to(1500, "ns") == 1.5
    assert power_time_to_pj(2.0, 1000) == pytest.approx(2.0)  # 2 mW for 1 ns = 2 pJ
    assert transfer_ps(8, 8_000_000_000) == 1000  # one byte at 8 Gb/s
    assert transfer_ps(1, 3) == 333_333_333_334  # rounded up
