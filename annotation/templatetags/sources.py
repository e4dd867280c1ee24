"""`url|web_address` in templates: annotation/sources.py's rule decides what becomes a link."""

from django import template

from annotation import sources

register = template.Library()


@register.filter
def web_address(url: str) -> str:
    """The URL to link to, normalised; "" when it is not a web address by the source rule (a
    draft keeps what its writer typed, `javascript:` included, and that is never a link)."""
    try:
        return sources.url_normalize(url or "")
    except sources.SourceURLError:
        return ""
