"""The support flow in a real browser: log in, find Alice's password reset, open it."""

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from sends.models import SendContent
from tests.factories import ContactFactory, OrganisationFactory, SendFactory

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="kraiter-chromium-")
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1280,1000", f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def wait_for(browser, by: str, value: str):
    """The element, once the page that has it has loaded (clicks do not wait for navigation)."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, 15).until(expected_conditions.presence_of_element_located((by, value)))


def screenshot(browser, name: str) -> None:
    """Kept in docs/screenshots when KRAITER_SCREENSHOTS=1 (how the docs' pictures are made)."""
    if os.environ.get("KRAITER_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_support_finds_a_send_by_name_and_opens_it(live_server, browser):
    from selenium.webdriver.common.by import By

    get_user_model().objects.create_superuser("support", "support@example.com", "correct horse battery")
    acme = OrganisationFactory(name="Acme")
    alice = ContactFactory(
        organisation=acme, email="alice@example.com", properties={"firstName": "Alice", "lastName": "Wilson"}
    )
    reset = SendFactory(
        organisation=acme, contact=alice, template_slug="password-reset", template_name="Password reset",
        subject="Reset your password, Alice", status="delivered", ses_message_id="0100018f-example",
        sent_at=timezone.now() + timedelta(seconds=1), delivered_at=timezone.now() + timedelta(seconds=3),
    )  # fmt: skip
    SendContent.objects.create(send=reset, html="<h1>Reset your password</h1><p>Hi Alice</p>", text="Hi Alice")
    SendFactory(organisation=acme, email="bob@example.com", subject="Welcome, Bob")
    if os.environ.get("KRAITER_SCREENSHOTS") == "1":  # a month of demo data makes the pictures worth looking at
        from io import StringIO

        from django.core.management import call_command

        call_command("seed_demo", "--organisation", "Acme", "--contacts", "150", stdout=StringIO(), stderr=StringIO())

    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys("support")
    browser.find_element(By.NAME, "password").send_keys("correct horse battery")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    search = wait_for(browser, By.ID, "find-send")  # the dashboard, once logged in
    screenshot(browser, "1-dashboard")

    search.send_keys("alice wilson")  # as support hears it: a name, not an address
    search.submit()
    wait_for(browser, By.ID, "result_list")
    rows = [r for r in browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr") if "alice@example.com" in r.text]
    assert len(rows) == 1 and "Reset your password, Alice" in rows[0].text and "Delivered" in rows[0].text
    assert "Welcome, Bob" not in browser.page_source
    screenshot(browser, "2-search")

    rows[0].find_element(By.CSS_SELECTOR, "th a").click()
    preview = wait_for(browser, By.CSS_SELECTOR, "iframe[sandbox]")
    page = browser.page_source
    assert reset.id in page and "Reset your password, Alice" in page and "What happened" in page
    timeline = browser.find_element(By.CSS_SELECTOR, ".field-timeline")
    assert timeline.location["y"] < 1000 and "delivered" in timeline.text  # the answer, on the first screen
    assert preview.size["width"] >= 600  # a 600 px email fits
    screenshot(browser, "3-send")
