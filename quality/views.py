"""The live duplicate warning on the writing page. Thin: parse, call a selector, render."""

from django.shortcuts import render
from django.views.decorators.http import require_POST

from annotation.views.writing import login_required_htmx
from quality import selectors


@login_required_htmx
@require_POST
def similar(request):
    """What the text being written looks like, among entries under review or accepted."""
    data = request.POST
    try:
        own = int(data.get("entry") or 0) or None
    except ValueError:
        own = None
    text = {name: data.get(name, "")[:50_000] for name in ("instruction", "context", "response")}
    matches = []
    if text["instruction"].strip() or text["response"].strip():
        matches = selectors.duplicates_similar_for(viewer=request.user, **text, exclude=own)
    return render(request, "quality/_similar.html", {"matches": matches})
