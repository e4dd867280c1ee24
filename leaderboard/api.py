"""REST API for contests, leaderboards and points; thin callers of services and selectors."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Category
from annotation.roles import is_moderator
from leaderboard import selectors, services
from leaderboard.models import Contest, ScoreEvent


class ContestSerializer(serializers.ModelSerializer):
    phase = serializers.SerializerMethodField()
    focus_categories = serializers.SlugRelatedField(
        slug_field="slug", many=True, queryset=Category.objects.all(), required=False
    )

    class Meta:
        model = Contest
        fields = ["id", *services.CONTEST_FIELDS, "focus_categories", "phase", "finalized_at"]
        read_only_fields = ["id", "phase", "finalized_at"]
        extra_kwargs = {"grace_ends_at": {"required": False}}

    def get_phase(self, contest) -> str:
        return "final" if contest.is_finalized else contest.phase()

    def validate(self, attrs):
        # The window rules live in the service; this only checks shapes.
        return attrs


class BoardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    user = serializers.CharField(
        source="name",
        help_text='Display name, "anonymous", or the team for ?scope=team. Names alike on one '
        'board are told apart: "Sam Lee (Finance)", "Sam Lee (Finance) · 2".',
    )
    points = serializers.IntegerField()
    accepted = serializers.IntegerField()
    reviews = serializers.IntegerField()
    is_you = serializers.BooleanField(source="is_viewer")


class BoardSerializer(serializers.Serializer):
    scope = serializers.CharField()
    title = serializers.CharField()
    contest = serializers.IntegerField(source="contest.pk", allow_null=True, default=None)
    frozen = serializers.BooleanField()
    rows = BoardRowSerializer(many=True)
    around = BoardRowSerializer(many=True, help_text="You and your neighbours, if below the top.")


class PointsEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScoreEvent
        fields = ["kind", "points", "entry", "contest", "created_at", "reason"]


class PointsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    results = PointsEventSerializer(many=True)


class IsAdminOrReadOnly(BasePermission):
    message = "Only contest admins can change contests."

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or is_moderator(request.user)


def _save(request, serializer, contest=None):
    serializer.is_valid(raise_exception=True)
    data = dict(serializer.validated_data)
    focus = data.pop("focus_categories", None)
    try:
        return services.contest_save(actor=request.user, values=data, contest=contest, focus=focus)
    except ValidationError as exc:
        raise serializers.ValidationError(exc.message_dict) from None


class ContestListApi(APIView):
    permission_classes = [IsAuthenticated, IsAdminOrReadOnly]

    @extend_schema(responses=ContestSerializer(many=True), summary="Contests, newest first")
    def get(self, request):
        return Response(ContestSerializer(selectors.contest_list(), many=True).data)

    @extend_schema(
        request=ContestSerializer,
        responses={201: ContestSerializer, 400: OpenApiResponse(description="Invalid window.")},
        summary="Create a contest (admins)",
    )
    def post(self, request):
        contest = _save(request, ContestSerializer(data=request.data))
        return Response(ContestSerializer(contest).data, status=status.HTTP_201_CREATED)


class ContestDetailApi(APIView):
    permission_classes = [IsAuthenticated, IsAdminOrReadOnly]

    @extend_schema(responses=ContestSerializer, summary="One contest")
    def get(self, request, contest_id: int):
        return Response(ContestSerializer(get_object_or_404(Contest, pk=contest_id)).data)

    @extend_schema(
        request=ContestSerializer,
        responses={
            200: ContestSerializer,
            409: OpenApiResponse(description="The contest is finalised; it no longer changes."),
        },
        summary="Edit (admins)",
    )
    def patch(self, request, contest_id: int):
        contest = get_object_or_404(Contest, pk=contest_id)
        serializer = ContestSerializer(contest, data=request.data, partial=True)
        return Response(ContestSerializer(_save(request, serializer, contest)).data)


class ContestFinalizeApi(APIView):
    permission_classes = [IsAuthenticated, IsAdminOrReadOnly]

    @extend_schema(
        request=None,
        responses={
            200: ContestSerializer,
            409: OpenApiResponse(description="Not due yet: its review grace period has not ended."),
        },
        summary="Freeze standings (admins), once its grace period is over",
    )
    def post(self, request, contest_id: int):
        contest = get_object_or_404(Contest, pk=contest_id)
        contest = services.contest_finalize(contest=contest, actor=request.user)
        return Response(ContestSerializer(contest).data)


class ContestCurrentApi(APIView):
    @extend_schema(
        responses={200: ContestSerializer, 404: OpenApiResponse(description="No contest runs.")},
        summary="The running contest (this week's is made on first use)",
    )
    def get(self, request):
        contest = services.contest_for_moment(timezone.now())
        if contest is None:
            return Response({"detail": "No contest is running."}, status=404)
        return Response(ContestSerializer(contest).data)


class ContestLeaderboardApi(APIView):
    @extend_schema(responses=BoardSerializer, summary="A contest's board (frozen once final)")
    def get(self, request, contest_id: int):
        contest = get_object_or_404(Contest, pk=contest_id)
        board = selectors.board_contest(contest=contest, viewer=request.user)
        return Response(BoardSerializer(board).data)


class LeaderboardApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("scope", enum=["all-time", "team"], default="all-time")],
        responses=BoardSerializer,
        summary="The all-time or the team board",
    )
    def get(self, request):
        scope = request.query_params.get("scope", "all-time")
        if scope == "all-time":
            board = selectors.board_all_time(viewer=request.user)
        elif scope == "team":
            board = selectors.board_teams(viewer=request.user)
        else:
            return Response({"scope": ["Choose all-time or team."]}, status=400)
        return Response(BoardSerializer(board).data)


class MyPointsApi(APIView):
    @extend_schema(responses=PointsSerializer, summary="Every point you earned, newest first")
    def get(self, request):
        events = selectors.points_for_user(user=request.user)
        total = selectors.points_total(user=request.user)
        return Response(PointsSerializer({"total": total, "results": events}).data)
