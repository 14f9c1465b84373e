"""The real-question benchmark stays separate from training: no shared site, no shared question."""

import sys

import yaml

from bot import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))

from split_real_questions import load_benchmark, load_training, problems, to_training  # noqa: E402


def test_no_site_and_no_question_is_on_both_sides():
    assert problems() == []


def test_the_benchmark_is_the_sites_the_rule_keeps_out_of_training():
    bench = load_benchmark()
    assert len(bench) >= 300 and not any(to_training(r["site"]) for r in bench)
    assert len(load_training()) >= 400


def test_the_second_labels_follow_the_benchmark_and_use_its_intents():
    """The agreement study (benchmarks/label_agreement.py) compares the same questions, in order, on the same labels."""
    from label_agreement import BENCHMARK, SECOND, agreement, load

    first, second = load(BENCHMARK), load(SECOND)
    result = agreement(first, second)
    assert result["questions"] == len(first)
    assert {r["intent"] for r in second} <= set(yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["intents"])
    assert 0 < result["cohen_kappa"] <= result["agreement"] <= result["agreement_counting_secondary_labels"] <= 1
