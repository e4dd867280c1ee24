"""Peer review pages: the queue, the review form, skipping, and the moderators' page."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from annotation import selectors, services
from annotation.forms import DecideForm, ReviewForm
from annotation.lookups import category_or_404, entry_for_review_or_404
from annotation.models import Category, Entry
from config.errors import DomainError


def moderator_required(view):
    """Signed-in staff only: others get a 403 page (anonymous visitors are sent to sign in)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("This page is for moderators.")
        return view(request, *args, **kwargs)

    return wrapped


def _category_from(request) -> Category | None:
    slug = request.POST.get("category") or request.GET.get("category") or ""
    if not slug:
        return None
    return category_or_404(slug)


@login_required
def review_home(request):
    return render(
        request,
        "annotation/review_home.html",
        {
            "categories": selectors.category_list_with_progress(),
            "waiting": selectors.review_queue_size(reviewer=request.user),
            "agreement_rate": selectors.reviewer_agreement(reviewer=request.user),
        },
    )


def _redirect_to_next(request, category: Category | None):
    entry = services.review_next(reviewer=request.user, category=category)
    if entry is None:
        where = f" in {category.name}" if category else ""
        messages.info(request, f"Nothing is waiting for your review{where} right now.")
        return redirect("annotation:review_home")
    return redirect("annotation:review_entry", entry_id=entry.pk)


@login_required
@require_POST
def review_next(request):
    return _redirect_to_next(request, _category_from(request))


def _render_review(request, entry: Entry, form: ReviewForm, status: int = 200):
    return render(
        request,
        "annotation/review_entry.html",
        {
            "entry": entry,
            "form": form,
            "decide_form": DecideForm() if request.user.is_staff else None,
            "my_review": selectors.review_of(entry=entry, reviewer=request.user),
            "category": entry.category,
        },
        status=status,
    )


@login_required
def review_entry(request, entry_id: int):
    entry = entry_for_review_or_404(request.user, entry_id)
    if entry.author_id == request.user.pk:
        messages.info(request, "This is your own entry; colleagues review it.")
        return redirect("annotation:entry_detail", entry_id=entry.pk)
    form = ReviewForm(request.POST or None, entry=entry)
    if request.method != "POST":
        return _render_review(request, entry, form)
    if not form.is_valid():
        return _render_review(request, entry, form, status=400)
    data = form.cleaned_data
    try:
        services.review_record(
            entry=entry,
            reviewer=request.user,
            verdict=data["verdict"],
            rating=data["rating"],
            reasons=data["reasons"],
            comment=data["comment"],
            fix_values=form.fix_values(),
        )
    except ValidationError as exc:
        form.add_error(None, exc)
        return _render_review(request, entry, form, status=400)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("annotation:review_home")
    messages.success(request, f"Thank you: your review of #{entry.pk} is recorded.")
    return redirect("annotation:review_home")


@login_required
@require_POST
def review_skip(request, entry_id: int):
    entry = entry_for_review_or_404(request.user, entry_id)
    services.review_skip(entry=entry, reviewer=request.user)
    messages.info(request, f"Skipped #{entry.pk}; it goes back to the pool.")
    return _redirect_to_next(request, _category_from(request))


@moderator_required
@require_POST
def entry_decide(request, entry_id: int):
    entry = entry_for_review_or_404(request.user, entry_id)
    form = DecideForm(request.POST)
    if form.is_valid():
        try:
            services.entry_decide(
                entry=entry,
                moderator=request.user,
                verdict=form.cleaned_data["verdict"],
                reason=form.cleaned_data["reason"],
            )
        except (ValidationError, DomainError) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, f"Entry #{entry.pk} decided.")
            return redirect("annotation:moderation")
    else:
        messages.error(request, "Choose accept or reject and give a reason.")
    return redirect("annotation:review_entry", entry_id=entry.pk)


@moderator_required
def moderation(request):
    return render(
        request,
        "annotation/moderation.html",
        {
            "split": selectors.moderation_split_votes(),
            "stale": selectors.moderation_stale(),
        },
    )
