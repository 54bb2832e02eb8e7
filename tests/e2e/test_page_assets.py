"""Every page's assets come from the shop itself and load without an error in the browser's console."""

import pytest

from tests.e2e import shopper

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The icon the page declares, or else the one every browser asks for.
ICON_URL = """() => {
  const link = document.querySelector('link[rel~="icon"]');
  return link ? link.href : new URL('/favicon.ico', location.href).href;
}"""


def test_catalog_loads_htmx_bootstrap_and_its_icon_from_the_shop_without_console_errors(
    page, watch, catalog, final_screenshot
):
    final_screenshot(page, "catalog")
    shopper.open_catalog(page)  # asserts htmx and Bootstrap are loaded
    icon_url = page.evaluate(ICON_URL)
    if not icon_url.startswith("data:"):
        icon = page.request.get(icon_url)
        assert icon.ok, f"the browser's icon request gets HTTP {icon.status}: {icon_url}"
    page.wait_for_load_state("networkidle")
    watch.assert_clean()
