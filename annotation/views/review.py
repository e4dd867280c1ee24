"""Peer review pages: the queue, the review form, skipping, and the moderators' page."""

import contextlib
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from annotation import selectors, services
from annotation.forms import DecideForm, FlagRaiseForm, GoldMarkForm, OverturnForm, ReviewForm
from annotation.lookups import category_or_404, entry_for_review_or_404, flag_or_404
from annotation.models import Category, Entry, EntryStatus, FlagStatus
from annotation.roles import is_moderator
from annotation.text import TEXT_FIELDS
from config.errors import DomainError

# The category a reviewer chose on "Review next", remembered for skip and the next round.
SESSION_CATEGORY = "review_category"


def moderator_required(view):
    """Signed-in staff only: others get a 403 page (anonymous visitors are sent to sign in)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not is_moderator(request.user):
            raise PermissionDenied("This page is for moderators.")
        return view(request, *args, **kwargs)

    return wrapped


def _chosen_category(request) -> Category | None:
    slug = request.session.get(SESSION_CATEGORY) or ""
    try:
        return selectors.category_get_active(slug=slug) if slug else None
    except Category.DoesNotExist:
        return None


@login_required
def review_home(request):
    chosen = _chosen_category(request)
    return render(
        request,
        "annotation/review_home.html",
        {
            "categories": selectors.category_list_with_progress(),
            "chosen": chosen.slug if chosen else "",
            "waiting": selectors.review_queue_size(reviewer=request.user),
            "reviewed_today": selectors.reviews_today(reviewer=request.user),
            "agreement_rate": selectors.reviewer_agreement(reviewer=request.user),
            "gold_record": selectors.gold_record(reviewer=request.user),
            "gold_counts": selectors.reviewer_in_good_standing(reviewer=request.user),
            "gold_min_accuracy": settings.FLOCK_GOLD_MIN_ACCURACY,
            "accept_at": settings.FLOCK_ACCEPT_APPROVALS,
            "reject_at": settings.FLOCK_REJECT_REJECTIONS,
        },
    )


def _redirect_to_next(request, category: Category | None):
    """On to the next entry of the queue (in `category`), or to /review/ saying nothing is left:
    where Review next, a recorded review and a skip all lead."""
    entry = services.review_next(reviewer=request.user, category=category)
    if entry is None:
        where = f" in {category.name}" if category else ""
        messages.info(request, f"Nothing is waiting for your review{where} right now.")
        return redirect("annotation:review_home")
    return redirect("annotation:review_entry", entry_id=entry.pk)


@login_required
@require_POST
def review_next(request):
    slug = request.POST.get("category", "")
    category = category_or_404(slug) if slug else None
    request.session[SESSION_CATEGORY] = slug
    return _redirect_to_next(request, category)


def _review_form(entry: Entry, data=None) -> ReviewForm:
    """The review form, its fix fields holding the revision the reviewer is (or was) shown
    (`entry` as this request read it: its latest revision then)."""
    shown = entry.revision_count
    if data is not None:
        with contextlib.suppress(TypeError, ValueError):
            shown = int(data.get("seen_revision", shown))
    return ReviewForm(
        data,
        entry=entry,
        seen_text=selectors.revision_text(entry=entry, number=shown),
        seen_revision=shown,
    )


def _overturn_context(request, entry, overturn_form) -> dict:
    """A moderator on a decided entry's page may overturn the decision it stands on."""
    decision = selectors.decision_current(entry=entry) if is_moderator(request.user) else None
    if decision is None:
        return {"overturn_form": None, "current_decision": None}
    form = overturn_form or OverturnForm(initial={"decision": decision.pk})
    return {"overturn_form": form, "current_decision": decision}


def _gold_context(request, entry, gold_form) -> dict:
    """A moderator on a decided entry's page may mark it as gold, or change or lift the mark."""
    decided = entry.status in (EntryStatus.ACCEPTED, EntryStatus.REJECTED)
    if not (decided and is_moderator(request.user)):
        return {"gold_form": None, "gold": None}
    mark = selectors.gold_mark_of(entry=entry)
    initial = {"expected": mark.expected, "reasons": mark.reasons} if mark else {}
    return {"gold_form": gold_form or GoldMarkForm(initial=initial), "gold": mark}


def _render_gold_hand_out(request, entry, form, hand_out, *, status: int):
    """A gold entry handed to this reviewer, shown as any entry under review (services/gold.py):
    no flags, votes, decision or moderators' forms; their answer shows as their review."""
    entry = selectors.entry_as_handed(entry=entry, hand_out=hand_out)
    return render(
        request,
        "annotation/review_entry.html",
        {
            "entry": entry,
            "text": {name: getattr(entry, name) for name in [*TEXT_FIELDS, "source_url"]},
            "form": form,
            "my_review": hand_out if hand_out.answered_at else None,
            "fix_allowed": selectors.fix_allowed(reviewer=request.user),
            "category": entry.category,
            "reviewed_today": selectors.reviews_today(reviewer=request.user),
        },
        status=status,
    )


def _render_review(
    request,
    entry,
    form,
    *,
    decide_form=None,
    flag_form=None,
    overturn_form=None,
    gold_form=None,
    status=200,
):
    hand_out = selectors.gold_hand_out_of(viewer=request.user, entry=entry)
    if hand_out is not None:
        return _render_gold_hand_out(request, entry, form, hand_out, status=status)
    moderator = is_moderator(request.user)
    return render(
        request,
        "annotation/review_entry.html",
        {
            "entry": entry,
            "text": {name: getattr(entry, name) for name in [*TEXT_FIELDS, "source_url"]},
            "form": form,
            "decide_form": (decide_form or DecideForm()) if moderator else None,
            "flag_form": (flag_form or FlagRaiseForm()) if moderator else None,
            "votes": selectors.round_reviews(entry=entry) if moderator else None,
            "flags": selectors.flags_for_entry(entry=entry),
            "my_review": selectors.review_get(entry=entry, reviewer=request.user),
            "fix_allowed": selectors.fix_allowed(reviewer=request.user),
            "category": entry.category,
            "reviewed_today": selectors.reviews_today(reviewer=request.user),
            **_overturn_context(request, entry, overturn_form),
            **_gold_context(request, entry, gold_form),
        },
        status=status,
    )


@login_required
def review_entry(request, entry_id: int):
    entry = entry_for_review_or_404(request.user, entry_id)
    if entry.author_id == request.user.pk:
        messages.info(request, "This is your own entry; colleagues review it.")
        return redirect("annotation:entry_detail", entry_id=entry.pk)
    if request.method != "POST":
        return _render_review(request, entry, _review_form(entry))
    form = _review_form(entry, request.POST)
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
            seen_revision=data["seen_revision"],
        )
    except ValidationError as exc:
        form.add_service_errors(exc)
        return _render_review(request, entry, form, status=400)
    except DomainError as exc:
        # Decided or changed meanwhile: say so, and keep what the reviewer wrote on the page.
        form.add_error(None, exc.message)
        entry.refresh_from_db()
        return _render_review(request, entry, form, status=exc.status_code)
    messages.success(request, f"Thank you: your review of #{entry.pk} is recorded.")
    return _redirect_to_next(request, _chosen_category(request))


@login_required
@require_POST
def review_skip(request, entry_id: int):
    entry = entry_for_review_or_404(request.user, entry_id)
    services.review_skip(entry=entry, reviewer=request.user)
    messages.info(request, f"Skipped #{entry.pk}; it goes back to the pool.")
    return _redirect_to_next(request, _chosen_category(request))


@moderator_required
@require_POST
def entry_decide(request, entry_id: int):
    entry = entry_for_review_or_404(request.user, entry_id)
    return _moderator_form(
        request,
        entry,
        DecideForm(request.POST),
        lambda data: services.entry_decide(
            entry=entry, moderator=request.user, verdict=data["verdict"], reason=data["reason"]
        ),
        form_key="decide_form",
        done=f"Entry #{entry.pk} decided.",
        then=reverse("annotation:moderation"),
    )


@moderator_required
@require_POST
def entry_overturn(request, entry_id: int):
    """A moderator overturns a decided entry's outcome or reopens it, from its review page."""
    entry = entry_for_review_or_404(request.user, entry_id)
    return _moderator_form(
        request,
        entry,
        OverturnForm(request.POST),
        lambda data: services.entry_overturn(
            entry=entry,
            moderator=request.user,
            verdict=data["verdict"],
            reason=data["reason"],
            seen_decision_id=data["decision"],
        ),
        form_key="overturn_form",
        done=f"Decision on #{entry.pk} overturned; the author is told why.",
        then=reverse("annotation:review_entry", args=[entry.pk]),
    )


@moderator_required
@require_POST
def gold_mark(request, entry_id: int):
    """A moderator marks a decided entry as gold (or changes its mark), from its review page."""
    entry = entry_for_review_or_404(request.user, entry_id)
    return _moderator_form(
        request,
        entry,
        GoldMarkForm(request.POST),
        lambda data: services.gold_mark(
            entry=entry, moderator=request.user, expected=data["expected"], reasons=data["reasons"]
        ),
        form_key="gold_form",
        done=f"#{entry.pk} is a gold entry: reviewers are handed it among the others.",
        then=reverse("annotation:review_entry", args=[entry.pk]),
    )


@moderator_required
@require_POST
def gold_unmark(request, entry_id: int):
    entry = entry_for_review_or_404(request.user, entry_id)
    services.gold_unmark(entry=entry, moderator=request.user)
    messages.success(request, f"#{entry.pk} is no longer handed out as a gold entry.")
    return redirect("annotation:review_entry", entry_id=entry.pk)


def _moderator_form(request, entry, form, act, *, form_key: str, done: str, then: str):
    """A moderator's form on an entry's review page: `act(cleaned_data)` calls the service; its
    refusals go back into the form beside what was typed (400, or the refusal's own 4xx), and
    success says `done` and goes to `then`."""
    status = 400
    if form.is_valid():
        try:
            act(form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = exc.status_code
        else:
            messages.success(request, done)
            return redirect(then)
    return _render_review(request, entry, _review_form(entry), status=status, **{form_key: form})


@moderator_required
def moderation(request):
    return render(
        request,
        "annotation/moderation.html",
        {
            "split": selectors.moderation_split_votes(),
            "stale": selectors.moderation_stale(),
            "flags": selectors.flag_list(viewer=request.user, status=FlagStatus.OPEN),
        },
    )


@moderator_required
@require_POST
def flag_resolve(request, flag_id: int):
    flag = flag_or_404(request.user, flag_id)
    try:
        services.flag_resolve(
            flag=flag,
            moderator=request.user,
            action=request.POST.get("action", ""),
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Flag on #{flag.entry_id} resolved.")
    return redirect(f"{reverse('annotation:moderation')}#flags")


@moderator_required
@require_POST
def flag_raise(request, entry_id: int):
    """A moderator flags an entry by hand, from its review page (accepted entries too)."""
    entry = entry_for_review_or_404(request.user, entry_id)
    return _moderator_form(
        request,
        entry,
        FlagRaiseForm(request.POST),
        lambda data: services.flag_raise_by_hand(
            entry=entry, moderator=request.user, kind=data["kind"], note=data["note"]
        ),
        form_key="flag_form",
        done=f"Flag raised on #{entry.pk}; it blocks export until resolved.",
        then=reverse("annotation:review_entry", args=[entry.pk]),
    )
