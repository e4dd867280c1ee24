"""The live duplicate and contamination warnings on the writing page. Thin: parse, call the
selectors, render."""

from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from annotation.views.writing import login_required_htmx
from quality import selectors


def _similar_context(request, *, own: int | None) -> dict:
    """What the text the writing page posted looks like, among entries under review or
    accepted, and whether its instruction is close to a question of a reference corpus."""
    data = request.POST
    text = {name: data.get(name, "")[:50_000] for name in ("instruction", "context", "response")}
    matches = []
    if text["instruction"].strip() or text["response"].strip():
        matches = selectors.duplicates_similar_for(viewer=request.user, **text, exclude=own)
    references = []
    if text["instruction"].strip():
        # While typing, the corpus's name only: never the question's text, nor its number
        # (typing variants at the page must not map an evaluation set question by question).
        # Once the entry is checked, its reference flag names the corpus and the question's
        # number, for moderators to judge it; the entry's author sees that flag too. The text
        # of a question is shown to no one (quality/services/references.py, _finding).
        found = selectors.references_matching(
            instructions=[(0, text["instruction"])], while_typing=True
        )
        references = [match.corpus_name for match in found.get(0, [])]
    return {"matches": matches, "references": references}


@login_required_htmx
@require_POST
def similar(request):
    """The warnings for the page's text as it stands (the page asks once, when it opens; then
    every autosave's answer carries them: similar_on_autosave)."""
    try:
        own = int(request.POST.get("entry") or 0) or None
    except ValueError:
        own = None
    return render(request, "quality/_similar.html", _similar_context(request, own=own))


def similar_on_autosave(sender, *, request, entry, **kwargs) -> str:
    """The warnings, for the autosave's answer to put in the page (annotation/events.py,
    draft_autosaved): one request a pause in typing instead of two."""
    context = _similar_context(request, own=entry.pk if entry is not None else None)
    return render_to_string("quality/_similar_oob.html", context, request)
