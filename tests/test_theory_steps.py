"""The catalogue's symbolic unrolling against predict()'s numeric recursion, on a grid."""

import itertools
from fractions import Fraction

from theory import NEG_INF, exact, predict
from theory._steps import PATTERNS, Model, unroll

GRID = {"eta": ("-3/2", "-1", "-1/2", "0"), "s": ("-1", "0", "1"),
        "A0Z": ("-oo", "-1/2", "0", "1"), "B0": ("-oo", "-1", "-1/2", "0")}
KEYS = {"delta1": "d1", "delta2": "d2", "delta3": "d3", "dY": "dY", "AtZ": "AtZ", "Bt": "Bt"}


def test_unrolled_rows_equal_predict_at_every_step_on_a_grid():
    rows = {(za, zb): unroll(Model(zero_A=za, zero_B=zb)) for za, zb, _ in PATTERNS}
    for eta, s, a0z, b0 in itertools.product(*GRID.values()):
        p = predict(eta, s, a0z, b0)
        values = {"eta": exact(eta), "s": exact(s), "A0Z": exact(a0z), "B0": exact(b0)}
        pattern = rows[(values["A0Z"] is NEG_INF, values["B0"] is NEG_INF)]
        for t in range(5):
            row = pattern[min(t, len(pattern) - 1)]
            want = p.gamma_t(t)
            for key, ours in KEYS.items():
                got = row[ours].evaluate({k: v for k, v in values.items()
                                          if v is not NEG_INF})
                expected = NEG_INF if want[key].is_infinite else Fraction(str(want[key]))
                assert got == expected, (eta, s, a0z, b0, t, key)


def test_unrolling_stops_at_the_first_repeated_state():
    for za, zb, _ in PATTERNS:
        rows = unroll(Model(zero_A=za, zero_B=zb))
        assert (rows[-1]["AtZ"], rows[-1]["Bt"]) == (rows[-2]["AtZ"], rows[-2]["Bt"])
        assert all((a["AtZ"], a["Bt"]) != (b["AtZ"], b["Bt"]) for a, b in
                   zip(rows[:-2], rows[1:-1], strict=True))
    assert len(unroll(Model(zero_A=True, zero_B=True))) == 2  # the saddle never moves


def test_module_doctest():
    import doctest

    from theory import _steps

    assert doctest.testmod(_steps).failed == 0
