"""Choose the document search's ``min_similarity`` (data/retrieval.yml) on the TRAINING questions only.

For each real question in data/nlu/real_questions.yml, the passage closest in meaning is found; it
is right when it belongs to the topic the question is labelled with. For each threshold the table
shows how many questions would be answered from a passage, how many of those are right, and how many
are questions the documents do not answer (labelled not covered, out of scope, clinic practicalities),
which must be none. The benchmark questions are never used here.

    python benchmarks/fallback_thresholds.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from split_real_questions import load_training  # noqa: E402  (this folder)

from bot.content.knowledge import get_knowledge_base  # noqa: E402
from bot.content.retrieval import get_search  # noqa: E402


def main() -> None:
    kb, search = get_knowledge_base(), get_search()
    topic_passages = {intent: {item.passage_id for item in topic.items} for intent, topic in kb.topics.items()}
    rows = load_training()
    best = []
    for row in rows:
        passage, similarity = search.similar(row["text"], k=1)[0]
        right = row["intent"] in topic_passages and passage.id in topic_passages[row["intent"]]
        best.append((similarity, right, row["intent"] in topic_passages))
    print(f"{len(rows)} training questions; configured min_similarity: {search.min_similarity}")
    print(f"{'threshold':>9} {'answered':>8} {'right':>6} {'precision':>9} {'outside docs':>12}")
    for threshold in (0.55, 0.6, 0.65, 0.7, 0.75, 0.8):
        answered = [b for b in best if b[0] >= threshold]
        right = sum(b[1] for b in answered)
        outside = sum(not b[2] for b in answered)
        precision = right / len(answered) if answered else 0.0
        print(f"{threshold:>9.2f} {len(answered):>8} {right:>6} {precision:>9.3f} {outside:>12}")


if __name__ == "__main__":
    main()
