"""Layout checks the browser tests share."""


def assert_no_sideways_scroll(page, where: str) -> None:
    """The page, once loaded, is no wider than the window (nothing scrolls sideways)."""
    # Measure a document that has finished loading, never the gap between two documents
    # after a click that navigates (there `document.documentElement` is null).
    page.wait_for_load_state("load")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{where} is {overflow} px wider than the window"
