"""The catalogue: every statement of both papers decided for all values, as documented."""

import functools
import time

import pytest

from theory._catalogue import Claim, Statement, catalogue, prove

REFUTED = {  # statements where the engine finds a counterexample to what the paper says
    "sl-eq4-first-step", "sl-cases", "sl-thm3.1", "sl-kaiming-lower-bound",
    "sl-stop-condition", "icml-lemma2-iid",
}
REQUIRED = {  # issue 2, section 3
    "sl-eq1", "sl-eq2-eq3", "sl-eq4", "sl-eq5", "sl-cases", "sl-mixed-case", "sl-eq6",
    "sl-thm3.1", "sl-kaiming-lower-bound", "sl-shrink-bound", "sl-stop-condition",
    "icml-eq3-eq4", "icml-eq4-eq5", "icml-eq6", "icml-fn7", "icml-table1", "icml-thm1",
    "icml-eq21", "icml-sgd-eq27-28", "icml-sgd-eq29-30",
}


@functools.lru_cache(maxsize=1)
def results():
    """All statements decided once (CPU seconds, results by name)."""
    t = time.process_time()
    out = {r.statement.name: r for r in prove()}
    return time.process_time() - t, out


def claim(name, text_start):
    """The result of the claim of ``name`` whose text starts with ``text_start``."""
    (r,) = [c for c in results()[1][name].results if c.claim.text.startswith(text_start)]
    return r


def test_every_required_statement_is_catalogued_and_decided_as_documented():
    _, res = results()
    assert REQUIRED <= set(res)
    assert {n for n, r in res.items() if r.status == "refuted"} == REFUTED
    assert all(r.status == "proved" for n, r in res.items() if n not in REFUTED)
    for r in res.values():
        assert all(c.ok for c in r.results), r.statement.name
        assert all(c.counterexample is None for c in r.results if c.holds)


def test_prove_all_is_fast():
    cpu, _ = results()
    assert cpu < 10.0


def test_theorem_3_1_fails_only_at_the_zero_zero_saddle():
    assert all(c.holds for c in results()[1]["sl-thm3.1"].results[:4])
    saddle = claim("sl-thm3.1", "t = 1 with A₀ = B₀ = 0")
    assert saddle.counterexample.strings() == ["A0Z = -oo", "B0 = -oo", "2*eta + s = -1"]
    weaker = claim("sl-thm3.1", "converse from Definition 1")
    assert not weaker.holds and "2*eta + s < -1" in weaker.counterexample.strings()


def test_documented_counterexample_cells():
    first = claim("sl-eq4-first-step", "B₀ = 0")
    assert first.counterexample.strings() == ["B0 = -oo", "A0Z > -oo", "A0Z < eta + 1"]
    assert claim("sl-kaiming-lower-bound", "U[−1/n, 1/n]: Case 1 ⇒ γ[η] ≥ −1") \
        .counterexample.strings() == ["A0Z = -1/2", "eta < -1", "eta >= -3/2"]
    stop = claim("sl-stop-condition", "with B₀ outside Case 1")
    assert "b0 > eta + 1/2" in stop.counterexample.strings()
    fixed = claim("sl-shrink-bound", "fixed λ, fixed N repairs")
    assert not fixed.holds and "L = 0" in fixed.counterexample.strings()
    iid = claim("icml-lemma2-iid", "per-entry")
    assert iid.counterexample.strings() == ["a0 > -oo", "a0 <= etaA + 1/2", "a0 > etaA"]


def test_table_1_is_reproduced():
    table = {c.claim.text.split()[0] + " " + c.claim.text.split()[1]: c.holds
             for c in results()[1]["icml-table1"].results}
    assert table == {
        "Init[A] stability": True, "Init[A] efficiency": True, "Init[A] robustness": False,
        "Init[B] stability": True, "Init[B] efficiency": False, "Init[B] robustness": False,
        "Init[AB] stability": True, "Init[AB] efficiency": True, "Init[AB] robustness": True,
    }


def test_eq1_algebra_detects_the_swapped_factors():
    c = claim("sl-eq1", "the expansion")
    assert c.holds and "does not" in c.detail


def test_a_wrong_expectation_makes_a_statement_fail(monkeypatch):
    import theory._catalogue as cat

    wrong = Statement("x", "test", "a true implication catalogued as false",
                      (Claim("x ≤ 1 ⇒ x ≤ 2", "implies", hyp="x <= 1", concl="x <= 2",
                             expect=False),))
    monkeypatch.setattr(cat, "catalogue", lambda: {"x": wrong})
    (r,) = cat.prove("x")
    assert r.status == "FAILED"


def test_unknown_name_lists_the_valid_ones():
    from theory import UnknownStatementError

    with pytest.raises(UnknownStatementError, match="sl-eq5"):
        prove("sl-eq99")
    assert list(catalogue())[0] == "sl-eq1"
