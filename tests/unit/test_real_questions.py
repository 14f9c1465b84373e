"""The real-question benchmark stays separate from training: no shared site, no shared question."""

import sys

from bot import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))

from split_real_questions import load_benchmark, load_training, problems, to_training  # noqa: E402


def test_no_site_and_no_question_is_on_both_sides():
    assert problems() == []


def test_the_benchmark_is_the_sites_the_rule_keeps_out_of_training():
    bench = load_benchmark()
    assert len(bench) >= 300 and not any(to_training(r["site"]) for r in bench)
    assert len(load_training()) >= 400
