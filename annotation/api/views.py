"""REST API for writers and scripts. Each view validates the request shape and calls a service."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors, services
from annotation.api.serializers import (
    AgreementAcceptSerializer,
    AgreementSerializer,
    CategorySerializer,
    DecideSerializer,
    DecisionSerializer,
    EntryCreateSerializer,
    EntrySerializer,
    EntryTextSerializer,
    EraseSerializer,
    ErasureSerializer,
    ErrorSerializer,
    FlagRaiseSerializer,
    FlagResolveSerializer,
    FlagSerializer,
    GoldEntrySerializer,
    GoldMarkSerializer,
    MeSerializer,
    OverturnCreateSerializer,
    OverturnSerializer,
    ReleaseRemovalSerializer,
    ReviewCreateSerializer,
    ReviewEntrySerializer,
    ReviewNextSerializer,
    ReviewSerializer,
)
from annotation.lookups import (
    entry_for_release_withdrawal_or_404,
    entry_for_review_or_404,
    flag_or_404,
    own_entry_or_404,
)
from annotation.models import EntryStatus, FlagStatus
from annotation.roles import is_moderator
from annotation.text import TEXT_FIELDS

_ERRORS = {
    400: OpenApiResponse(description="Validation failed: a message per field."),
    404: OpenApiResponse(ErrorSerializer, description="Not found, or not yours."),
    409: OpenApiResponse(
        ErrorSerializer, description="The entry is not in a state that allows it."
    ),
}


def _status_filter(request, values: list[str]) -> str | None:
    """The ?status= filter of a list, or a 400 naming the allowed values."""
    wanted = request.query_params.get("status") or None
    if wanted is not None and wanted not in values:
        raise ValidationError({"status": [f"Choose one of {', '.join(values)}."]})
    return wanted


class CategoryListApi(APIView):
    pagination_class = None

    @extend_schema(responses=CategorySerializer(many=True), summary="The categories and progress")
    def get(self, request):
        categories = selectors.category_list_with_progress()
        return Response(CategorySerializer(categories, many=True).data)


class EntryListApi(GenericAPIView):
    serializer_class = EntrySerializer

    @extend_schema(
        parameters=[OpenApiParameter("status", enum=EntryStatus.values, required=False)],
        responses=EntrySerializer(many=True),
        summary="Your own entries, newest change first",
    )
    def get(self, request):
        wanted = _status_filter(request, EntryStatus.values)
        entries = selectors.entry_list_for_author(author=request.user, status=wanted)
        page = self.paginate_queryset(entries)
        feedback = selectors.entry_feedback_many(entries=page)
        data = EntrySerializer(page, many=True, context={"feedback": feedback}).data
        return self.get_paginated_response(data)

    @extend_schema(
        request=EntryCreateSerializer,
        responses={201: EntrySerializer, 400: _ERRORS[400]},
        summary="Start a draft",
    )
    def post(self, request):
        serializer = EntryCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        category = data.pop("category")
        entry = services.entry_create(author=request.user, category=category, values=data)
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class EntryDetailApi(APIView):
    @extend_schema(
        responses={200: EntrySerializer, 404: _ERRORS[404]}, summary="One of your entries"
    )
    def get(self, request, entry_id: int):
        return Response(EntrySerializer(own_entry_or_404(request.user, entry_id)).data)

    @extend_schema(
        request=EntryTextSerializer,
        responses={200: EntrySerializer, 400: _ERRORS[400], 404: _ERRORS[404], 409: _ERRORS[409]},
        summary="Change a draft's text (drafts only)",
    )
    def patch(self, request, entry_id: int):
        entry = own_entry_or_404(request.user, entry_id)
        serializer = EntryTextSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = services.entry_update(
            entry=entry, actor=request.user, values=dict(serializer.validated_data)
        )
        return Response(EntrySerializer(entry).data)

    @extend_schema(
        responses={204: None, 404: _ERRORS[404], 409: _ERRORS[409]},
        summary="Delete a draft (drafts only)",
    )
    def delete(self, request, entry_id: int):
        services.entry_delete(entry=own_entry_or_404(request.user, entry_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _EntryTransitionApi(APIView):
    """POST with no body moves the entry through its lifecycle by calling `service`."""

    service = None

    def post(self, request, entry_id: int):
        entry = type(self).service(
            entry=own_entry_or_404(request.user, entry_id), actor=request.user
        )
        return Response(EntrySerializer(entry).data)


_TRANSITION_RESPONSES = {
    200: EntrySerializer,
    400: _ERRORS[400],
    403: OpenApiResponse(ErrorSerializer, description="Contributor agreement not accepted."),
    404: _ERRORS[404],
    409: _ERRORS[409],
}


@extend_schema(request=None, responses=_TRANSITION_RESPONSES, summary="Submit a draft for review")
class EntrySubmitApi(_EntryTransitionApi):
    service = staticmethod(services.entry_submit)


@extend_schema(request=None, responses=_TRANSITION_RESPONSES, summary="Withdraw from review")
class EntryWithdrawApi(_EntryTransitionApi):
    service = staticmethod(services.entry_withdraw)


@extend_schema(
    request=None, responses=_TRANSITION_RESPONSES, summary="Make a rejected/withdrawn entry a draft"
)
class EntryReopenApi(_EntryTransitionApi):
    service = staticmethod(services.entry_reopen)


class EntryReleaseWithdrawalApi(APIView):
    @extend_schema(
        request=None,
        responses={
            201: ReleaseRemovalSerializer,
            403: OpenApiResponse(
                ErrorSerializer, description="Not the entry's author, nor an admin."
            ),
            404: _ERRORS[404],
            409: OpenApiResponse(
                ErrorSerializer,
                description="Not accepted (under review: withdraw it from review instead; "
                "rejected ones are never released), or already withdrawn.",
            ),
        },
        summary="Withdraw an accepted entry from future releases (final; author or admin)",
    )
    def post(self, request, entry_id: int):
        entry = entry_for_release_withdrawal_or_404(request.user, entry_id)
        removal = services.entry_release_withdraw(entry=entry, actor=request.user)
        return Response(ReleaseRemovalSerializer(removal).data, status=status.HTTP_201_CREATED)


def _me_payload(user) -> dict:
    profile = selectors.profile_for(user=user)
    agreement = selectors.agreement_status(user=user)
    return {
        "id": user.pk,
        "username": user.get_username(),
        "email": user.email,
        "display_name": profile.name,
        "team": profile.team.name if profile.team else None,
        "show_on_leaderboard": profile.show_on_leaderboard,
        "is_staff": user.is_staff,
        "agreement": _agreement_payload(agreement),
    }


def _agreement_payload(agreement: selectors.AgreementStatus) -> dict:
    return {
        "version": agreement.current.version if agreement.current else None,
        "text": agreement.current.text if agreement.current else None,
        "accepted": agreement.accepted,
        "accepted_at": agreement.acceptance.accepted_at if agreement.acceptance else None,
    }


class MeApi(APIView):
    @extend_schema(responses=MeSerializer, summary="Who I am and whether I accepted the agreement")
    def get(self, request):
        return Response(MeSerializer(_me_payload(request.user)).data)


class MeEraseApi(APIView):
    @extend_schema(
        request=EraseSerializer,
        responses={
            200: ErasureSerializer,
            400: OpenApiResponse(description="`confirm` is not your username: a message."),
            409: _ERRORS[409],
        },
        summary="Erase your data (final): your text, your account's details; signs you out",
    )
    def post(self, request):
        serializer = EraseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        problem = services.erase_confirmation_error(
            person=request.user, typed=serializer.validated_data["confirm"]
        )
        if problem:
            raise ValidationError({"confirm": [problem]})
        erasure = services.person_erase(person=request.user, actor=request.user)
        return Response(ErasureSerializer(erasure).data)


class AgreementApi(APIView):
    @extend_schema(responses=AgreementSerializer, summary="The contributor agreement in force")
    def get(self, request):
        status_ = selectors.agreement_status(user=request.user)
        return Response(AgreementSerializer(_agreement_payload(status_)).data)

    @extend_schema(
        request=AgreementAcceptSerializer,
        responses={200: AgreementSerializer, 409: _ERRORS[409]},
        summary="Accept the contributor agreement in force",
    )
    def post(self, request):
        serializer = AgreementAcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.agreement_accept(
            user=request.user, version=serializer.validated_data.get("version")
        )
        status_ = selectors.agreement_status(user=request.user)
        return Response(AgreementSerializer(_agreement_payload(status_)).data)


# --- Review ----------------------------------------------------------------------------------


class ReviewNextApi(APIView):
    @extend_schema(
        request=ReviewNextSerializer,
        responses={
            200: ReviewEntrySerializer,
            204: OpenApiResponse(description="Nothing is left for you to review."),
        },
        summary="Lease the next entry to review",
    )
    def post(self, request):
        serializer = ReviewNextSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = services.review_next(
            reviewer=request.user, category=serializer.validated_data.get("category")
        )
        if entry is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(ReviewEntrySerializer(entry).data)


class EntryReviewsApi(APIView):
    @extend_schema(
        request=ReviewCreateSerializer,
        responses={
            201: ReviewSerializer,
            400: _ERRORS[400],
            403: OpenApiResponse(ErrorSerializer, description="Your own entry."),
            404: _ERRORS[404],
            409: OpenApiResponse(
                ErrorSerializer, description="Already reviewed by you, or not under review."
            ),
        },
        summary="Review an entry (one review per reviewer and entry)",
    )
    def post(self, request, entry_id: int):
        entry = entry_for_review_or_404(request.user, entry_id)
        serializer = ReviewCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        review = services.review_record(
            entry=entry,
            reviewer=request.user,
            verdict=data["verdict"],
            rating=data["rating"],
            reasons=data["reasons"],
            comment=data["comment"],
            fix_values={name: data[name] for name in TEXT_FIELDS if name in data},
        )
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)


class EntrySkipApi(APIView):
    @extend_schema(
        request=None,
        responses={204: None, 404: _ERRORS[404]},
        summary="Pass on an entry: release its lease and stop offering it to you",
    )
    def post(self, request, entry_id: int):
        services.review_skip(
            entry=entry_for_review_or_404(request.user, entry_id), reviewer=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class IsModerator(BasePermission):
    message = "Only moderators can decide entries directly."

    def has_permission(self, request, view):
        return is_moderator(request.user)


class EntryDecideApi(APIView):
    permission_classes = [IsAuthenticated, IsModerator]

    @extend_schema(
        request=DecideSerializer,
        responses={
            200: DecisionSerializer,
            400: _ERRORS[400],
            403: OpenApiResponse(ErrorSerializer, description="Not a moderator."),
            404: _ERRORS[404],
            409: _ERRORS[409],
        },
        summary="Moderators: accept or reject an entry under review, overriding the votes",
    )
    def post(self, request, entry_id: int):
        entry = entry_for_review_or_404(request.user, entry_id)
        serializer = DecideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        decision = services.entry_decide(
            entry=entry,
            moderator=request.user,
            verdict=serializer.validated_data["verdict"],
            reason=serializer.validated_data["reason"],
        )
        return Response(DecisionSerializer(decision).data)


class IsModeratorToOverturn(IsModerator):
    message = "Only moderators can overturn decisions."


class EntryOverturnApi(APIView):
    permission_classes = [IsAuthenticated, IsModeratorToOverturn]

    @extend_schema(
        request=OverturnCreateSerializer,
        responses={
            201: OverturnSerializer,
            400: _ERRORS[400],
            403: OpenApiResponse(ErrorSerializer, description="Not a moderator, or your entry."),
            404: _ERRORS[404],
            409: OpenApiResponse(
                ErrorSerializer,
                description="Not decided (under review, a draft, withdrawn, imported without a "
                "decision), already that outcome, or changed meanwhile.",
            ),
        },
        summary="Moderators: overturn a decided entry's outcome, or reopen it for review",
    )
    def post(self, request, entry_id: int):
        entry = entry_for_review_or_404(request.user, entry_id)
        serializer = OverturnCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        overturn = services.entry_overturn(
            entry=entry,
            moderator=request.user,
            verdict=serializer.validated_data["verdict"],
            reason=serializer.validated_data["reason"],
            seen_decision_id=serializer.validated_data.get("decision"),
        )
        return Response(OverturnSerializer(overturn).data, status=status.HTTP_201_CREATED)


class IsModeratorToMarkGold(IsModerator):
    message = "Only moderators mark gold entries."


class EntryGoldApi(APIView):
    """A gold entry's mark: its known verdict, handed to reviewers to measure them."""

    permission_classes = [IsAuthenticated, IsModeratorToMarkGold]

    @extend_schema(
        request=GoldMarkSerializer,
        responses={
            200: OpenApiResponse(GoldEntrySerializer, description="The mark, changed."),
            201: OpenApiResponse(GoldEntrySerializer, description="The entry is gold now."),
            400: _ERRORS[400],
            403: OpenApiResponse(ErrorSerializer, description="Not a moderator, or your entry."),
            404: _ERRORS[404],
            409: OpenApiResponse(
                ErrorSerializer, description="Not decided: only an accepted or rejected entry."
            ),
        },
        summary="Moderators: mark a decided entry as gold, with the verdict it should get",
    )
    def post(self, request, entry_id: int):
        entry = entry_for_review_or_404(request.user, entry_id)
        serializer = GoldMarkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        gold, created = services.gold_mark(
            entry=entry,
            moderator=request.user,
            expected=serializer.validated_data["expected"],
            reasons=serializer.validated_data["reasons"],
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(GoldEntrySerializer(gold).data, status=code)

    @extend_schema(
        responses={
            204: None,
            403: OpenApiResponse(ErrorSerializer, description="Not a moderator."),
            404: _ERRORS[404],
        },
        summary="Moderators: stop handing an entry out as gold (its answers stay on record)",
    )
    def delete(self, request, entry_id: int):
        entry = entry_for_review_or_404(request.user, entry_id)
        services.gold_unmark(entry=entry, moderator=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Flags -----------------------------------------------------------------------------------


class EntryFlagsApi(APIView):
    @extend_schema(
        responses={200: FlagSerializer(many=True), 404: _ERRORS[404]},
        summary="An entry's quality flags (its author, reviewers and moderators)",
    )
    def get(self, request, entry_id: int):
        entry = entry_for_review_or_404(request.user, entry_id)
        flags = selectors.flags_shown_to(viewer=request.user, entry=entry)
        return Response(FlagSerializer(flags, many=True).data)

    @extend_schema(
        request=FlagRaiseSerializer,
        responses={
            201: FlagSerializer,
            400: _ERRORS[400],
            403: OpenApiResponse(ErrorSerializer, description="Not a moderator."),
            404: _ERRORS[404],
            409: _ERRORS[409],
        },
        summary="Moderators: raise a flag by hand, with a note (it blocks export until resolved)",
    )
    def post(self, request, entry_id: int):
        if not is_moderator(request.user):
            raise PermissionDenied("Only moderators raise flags by hand.")
        entry = entry_for_review_or_404(request.user, entry_id)
        serializer = FlagRaiseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        flag = services.flag_raise_by_hand(
            entry=entry,
            moderator=request.user,
            kind=serializer.validated_data["kind"],
            note=serializer.validated_data["note"],
        )
        return Response(FlagSerializer(flag).data, status=201)


class FlagListApi(GenericAPIView):
    permission_classes = [IsAuthenticated, IsModerator]
    serializer_class = FlagSerializer

    @extend_schema(
        parameters=[OpenApiParameter("status", enum=FlagStatus.values, required=False)],
        responses=FlagSerializer(many=True),
        summary="Quality flags, blocking first (moderators)",
    )
    def get(self, request):
        wanted = _status_filter(request, FlagStatus.values)
        page = self.paginate_queryset(selectors.flag_list(viewer=request.user, status=wanted))
        return self.get_paginated_response(FlagSerializer(page, many=True).data)


class FlagResolveApi(APIView):
    permission_classes = [IsAuthenticated, IsModerator]

    @extend_schema(
        request=FlagResolveSerializer,
        responses={200: FlagSerializer, 400: _ERRORS[400], 404: _ERRORS[404], 409: _ERRORS[409]},
        summary="Confirm or dismiss a flag (moderators)",
    )
    def post(self, request, flag_id: int):
        flag = flag_or_404(request.user, flag_id)
        serializer = FlagResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        flag = services.flag_resolve(
            flag=flag,
            moderator=request.user,
            action=serializer.validated_data["action"],
            note=serializer.validated_data["note"],
        )
        return Response(FlagSerializer(flag).data)
