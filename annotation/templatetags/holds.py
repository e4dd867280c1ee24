"""`flag|holds_back` in templates: annotation/holds.py's rule, not a restatement of it."""

from django import template

from annotation import holds

register = template.Library()


@register.filter
def holds_back(flag) -> bool:
    return holds.flag_holds_back(flag)
