"""The dataset card's filters (templates/exports/dataset_card.md, rendered with autoescape off):
`md` for text in the Markdown body, `md_url` for a link, `yaml` for a front-matter value."""

from django import template

from annotation.sources import SourceURLError, url_normalize
from exports import dolly

register = template.Library()


@register.filter
def md(value) -> str:
    return dolly.markdown_text(value)


@register.filter
def yaml(value) -> str:
    return dolly.yaml_string(value)


@register.filter
def md_url(value) -> str:
    """A Markdown autolink (`<https://…>`) to the URL, normalised by annotation.sources' rule
    (http or https, percent-encoded, no space or `<>` that could end the link); "" when the URL
    is not one, so that a `javascript:` URL or a hostile stored value is left out."""
    try:
        return f"<{url_normalize(str(value or ''))}>"
    except SourceURLError:
        return ""
