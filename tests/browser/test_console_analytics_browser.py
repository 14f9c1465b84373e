"""Insights and unanswered questions in Chromium (Playwright): the charts are drawn under the console's CSP, the
groups show with counts and examples, a clinician marks a group handled, and axe-core finds no serious violations.

Screenshots: build/test-artifacts/console-insights.png and console-unanswered.png (with UPDATE_SCREENSHOTS=1 also
docs/screenshots/, shown in the README).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect  # noqa: E402  (after the Chromium check)

from bot.analytics.feedback import Rating
from bot.console import audit
from tests.browser.test_console_browser import Tab, axe_violations
from tests.support.console import Console, running_console
from tests.support.conversations import reply_times, sample


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("analytics")
    saved = sample(tmp / "trackers.db")
    with running_console(tmp, {"CLINIC_TIMEZONE": "America/Edmonton"}) as running:
        assert running.services.analytics is not None
        running.services.analytics.feedback.record(
            Rating(reply_times(saved, "web-2", "ask_does_it_hurt"), False, "ask_does_it_hurt", "answer")
        )
        yield running


def test_a_clinician_reads_the_charts(browser: Browser, console: Console) -> None:
    tab = Tab(browser, console)
    page = tab.page
    tab.sign_in("clin")
    page.get_by_role("link", name="Insights").click()
    expect(page.get_by_role("heading", name="Insights", level=1)).to_be_visible()
    page.get_by_label("Period", exact=True).select_option("7")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"/insights\?days=7$"))
    expect(page.locator(".tiles")).to_contain_text("6 conversations")
    for canvas in ("#chart-per-day", "#chart-topics", "#chart-channels", "#chart-rates"):
        expect(page.locator(canvas)).to_be_visible()
    # Chart.js drew each chart (its instance is on the canvas), with the page's numbers, under the CSP.
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('canvas[data-chart]')]"
        ".map(c => c.chart && c.chart.data.datasets[0].data.reduce((a, b) => a + b, 0))"
    )
    assert drawn[0] == 6 and drawn[2] == 6 and drawn[1] == 4, drawn  # per day and channels: conversations; topics: answers
    painted = page.evaluate(
        "() => { const c = document.getElementById('chart-channels'); const d = c.getContext('2d')"
        ".getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"
    )
    assert painted > 1000  # pixels were drawn, not an empty canvas
    page.get_by_text("Numbers").click()
    expect(page.locator("table.numbers").first).to_be_visible()
    tab.shot("console-insights.png")
    assert not tab.errors, "\n".join(tab.errors)
    tab.close()


def test_a_clinician_sees_unanswered_groups_and_marks_one_handled(browser: Browser, console: Console) -> None:
    tab = Tab(browser, console)
    page = tab.page
    tab.sign_in("clin")
    page.get_by_role("link", name="Unanswered questions").click()
    groups = page.locator("li.group")
    expect(groups.first).to_contain_text("3×")
    expect(groups.first).to_contain_text("Not covered: 3")
    expect(page.locator("main")).to_contain_text("Marked unhelpful: 1")
    expect(page.locator("main")).to_contain_text("[number]")
    expect(page.locator("main")).not_to_contain_text("555-0188")
    count = groups.count()
    tab.shot("console-unanswered.png")
    groups.first.get_by_role("button", name="Mark handled").click()
    expect(page.get_by_role("status")).to_have_text("Group marked handled.")
    expect(groups).to_have_count(count - 1)
    expect(page.locator("main")).not_to_contain_text("swim")
    page.get_by_label("Show").select_option("handled")
    page.get_by_role("button", name="Show").click()
    expect(groups).to_have_count(1)
    expect(groups.first).to_contain_text("Marked handled by clin")
    assert console.services.audit.find(action=audit.UNANSWERED_HANDLED, staff="clin")
    assert not tab.errors, "\n".join(tab.errors)
    tab.close()


def test_axe_finds_no_serious_violations_on_insights_and_unanswered(browser: Browser, console: Console) -> None:
    violations: list[str] = []
    tab = Tab(browser, console, bypass_csp=True)  # only so axe can be injected; the tests above run under the CSP
    page = tab.page
    tab.sign_in("clin")
    for label, path in (("insights", "/insights?days=7"), ("unanswered", "/unanswered?days=7"), ("handled", "/unanswered?show=handled")):
        page.goto(console.url + path)
        violations += axe_violations(page, label)
    page.set_viewport_size({"width": 360, "height": 740})
    for label, path in (("insights 360px", "/insights"), ("unanswered 360px", "/unanswered")):
        page.goto(console.url + path)
        violations += axe_violations(page, label)
    assert not violations, "axe-core found:\n" + "\n".join(violations)
    tab.close()
