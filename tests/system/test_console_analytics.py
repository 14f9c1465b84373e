"""The console's insights and unanswered-questions pages over HTTP, on conversations written through Rasa's own
SQL tracker store: the numbers, the groups, who may see them, marking a group handled, and the audit trail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.analytics.feedback import Rating
from bot.console import audit
from bot.console.insights import topic_label
from tests.support.console import Console, csrf_of, running_console
from tests.support.conversations import reply_times, sample


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("analytics")
    saved = sample(tmp / "trackers.db")
    with running_console(tmp) as running:
        analytics = running.services.analytics
        assert analytics is not None
        hurt = reply_times(saved, "web-2", "ask_does_it_hurt")
        what = reply_times(saved, "web-1", "ask_what_is_dry_needling")
        analytics.feedback.record(Rating(hurt, False, "ask_does_it_hurt", "answer"))
        analytics.feedback.record(Rating(what, True, "ask_what_is_dry_needling", "answer"))
        yield running


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_insights_count_conversations_rates_topics_and_channels(console: Console) -> None:
    http = console.sign_in("clin")
    page = http.get(f"{console.url}/insights?days=7", timeout=30)
    assert page.status_code == 200
    text = text_of(page.text)
    assert "6 conversations" in text and "11 questions" in text  # the page's own /greet requests are not questions
    assert "16.7% handoff rate (1 conversations)" in text and "16.7% urgent rate (1 conversations)" in text
    assert "27.3% not covered (3 questions)" in text and "18.2% not understood (2 questions)" in text
    assert "50.0% answers rated helpful (1 of 2 ratings)" in text
    assert "What is dry needling? 2" in text  # topic titles from the content, with counts
    assert "Website chat 3" in text and "SMS 2" in text and "Telegram 1" in text
    assert "swim" not in page.text.lower() and "0188" not in text  # counts only: no visitor's words
    assert '<script src="/static/chart.umd.min.js"' in page.text and 'id="chart-data"' in page.text
    chart = http.get(f"{console.url}/static/chart.umd.min.js", timeout=10)
    assert chart.status_code == 200 and "Chart" in chart.text[:2000]
    entry = console.services.audit.find(action=audit.INSIGHTS_VIEW, staff="clin")[0]
    assert entry.detail == "days=7" and entry.client == "127.0.0.1"


def test_admins_see_insights_but_not_the_visitors_words(console: Console) -> None:
    http = console.sign_in("admin")
    assert http.get(f"{console.url}/insights", timeout=30).status_code == 200
    refused = http.get(f"{console.url}/unanswered", timeout=30)
    assert refused.status_code == 403 and "swim" not in refused.text.lower()
    desk = console.sign_in("desk")
    assert desk.get(f"{console.url}/insights", timeout=30).status_code == 403
    assert desk.get(f"{console.url}/unanswered", timeout=30).status_code == 403


def test_unanswered_questions_are_grouped_by_meaning_with_counts_and_examples(console: Console) -> None:
    http = console.sign_in("clin")
    page = http.get(f"{console.url}/unanswered?days=7", timeout=60)
    assert page.status_code == 200
    groups = [text_of(g) for g in re.findall(r'<li class="group">(.*?)</li>\s*(?=<li class="group">|</ol>)', page.text, re.S)]
    swim = [g for g in groups if "swim" in g.lower()]
    assert len(swim) == 1 and swim[0].startswith(" 3×"), swim  # three wordings, one group, counted
    assert "Not covered: 3" in swim[0] and "Can I swim after the needles?" in swim[0] and "swim in a pool" in swim[0]
    assert groups.index(swim[0]) == 0  # largest first
    hurt = next(g for g in groups if "Does it hurt?" in g)
    assert "Marked unhelpful: 1" in hurt and f"Answer given: {topic_label('ask_does_it_hurt')}" in hurt
    price = next(g for g in groups if "price" in g)
    assert "Not understood: 1" in price and "[number]" in price  # contact details masked...
    assert "555-0188" not in page.text and "5550188" not in page.text and "0188" not in text_of(page.text)  # ...everywhere
    assert "What is dry needling?" not in page.text  # answered questions are not listed
    entry = console.services.audit.find(action=audit.UNANSWERED_VIEW, staff="clin")[0]
    assert "swim" not in (entry.detail or "") and "questions=" in (entry.detail or "")


def test_a_group_marked_handled_leaves_the_list_and_is_audited(console: Console) -> None:
    http = console.sign_in("clin")
    page = http.get(f"{console.url}/unanswered?days=7", timeout=60).text
    form = re.search(r'<form method="post" action="/unanswered/handled".*?</form>', page, re.S)
    assert form is not None
    group = re.search(r'name="group" value="([0-9a-f]{16})"', form.group(0)).group(1)
    keys = re.findall(r'name="key" value="([0-9a-f]{32})"', form.group(0))
    assert "swim" in text_of(page[page.index('<li class="group">') : form.start()]).lower()  # the largest group, first
    data = {"csrf_token": csrf_of(page), "group": group, "key": keys, "days": "7"}
    forged = http.post(f"{console.url}/unanswered/handled", data={**data, "csrf_token": "x"}, allow_redirects=False, timeout=10)
    assert forged.status_code == 403
    done = http.post(f"{console.url}/unanswered/handled", data=data, allow_redirects=False, timeout=10)
    assert done.status_code == 303 and done.headers["Location"] == "/unanswered?done=1&days=7"
    after = http.get(console.url + done.headers["Location"], timeout=60)
    assert "Group marked handled." in after.text
    assert group not in after.text and "swim" not in after.text.lower() and "Does it hurt?" in after.text
    handled = http.get(f"{console.url}/unanswered?days=7&show=handled", timeout=60)
    assert f'id="g-{group}"' in handled.text and "Marked handled by clin" in handled.text and "swim" in handled.text.lower()
    assert "Does it hurt?" not in handled.text and "Mark handled</button>" not in handled.text
    entry = console.services.audit.find(action=audit.UNANSWERED_HANDLED, staff="clin")[0]
    assert entry.record_id == group and entry.detail == f"{len(keys)} of {len(keys)} questions marked handled"
    bad = http.post(f"{console.url}/unanswered/handled", data={**data, "key": ["not-a-key"]}, allow_redirects=False, timeout=10)
    assert bad.status_code == 400


def test_a_missing_tracker_database_is_an_empty_period(tmp_path: Path) -> None:
    with running_console(tmp_path, accounts=("clin",)) as running:
        http = running.sign_in("clin")
        assert "0 conversations" in text_of(http.get(f"{running.url}/insights", timeout=30).text)
        assert "Nothing left unanswered" in http.get(f"{running.url}/unanswered", timeout=30).text
        assert not (tmp_path / "trackers.db").exists()  # reading never creates the clinic's database
