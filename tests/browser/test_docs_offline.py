"""The API's docs page works with no network: Swagger UI's assets come from the server itself."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser import harness


def test_the_docs_page_lists_the_operations_with_every_request_kept_on_the_server(context: Any,
                                                                                   server: harness.Server):
    ours = urlsplit(server.url).netloc
    elsewhere: list[str] = []

    def only_the_server(route: Any) -> None:
        if urlsplit(route.request.url).netloc == ours:
            route.continue_()
        else:  # a CDN, a font host, a telemetry beacon: recorded, never sent
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_server)
    page = context.new_page()
    answer = page.goto("/api/v1/docs")
    assert answer is not None and answer.status == 200

    try:
        page.locator(".swagger-ui .opblock-tag-section").first.wait_for()
    except PlaywrightTimeoutError:
        raise AssertionError(f"Swagger UI did not render its operations; requests beyond the server, refused: "
                             f"{elsewhere}") from None
    operations = page.locator(".swagger-ui .opblock")
    if operations.count() == 0:  # docExpansion "none": open the first tag
        page.locator(".swagger-ui .opblock-tag").first.click()
    operations.first.wait_for()
    assert operations.count() > 0
    assert page.locator(".swagger-ui .opblock-summary-path").first.inner_text().startswith("/api/v1/")
    assert elsewhere == [], f"the docs page reached beyond the server: {elsewhere}"
