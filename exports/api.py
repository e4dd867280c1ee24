"""REST API for export snapshots (data scientists and staff, token or session auth); thin
callers of the services, selectors and downloads the pages use."""

from django.core.exceptions import ValidationError
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from exports import downloads, selectors, services
from exports.models import Snapshot, SnapshotOrigin
from exports.roles import is_data_scientist


class IsDataScientist(BasePermission):
    message = "Snapshots are for data scientists and staff."

    def has_permission(self, request, view) -> bool:
        return is_data_scientist(request.user)


class SnapshotFileSerializer(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    url = serializers.CharField()


class SnapshotSerializer(serializers.ModelSerializer):
    parent = serializers.IntegerField(
        source="parent_id", allow_null=True, help_text="The parent snapshot's id, or null."
    )
    parent_version = serializers.IntegerField(
        source="parent.version", allow_null=True, default=None
    )
    files = serializers.SerializerMethodField(
        help_text="Every file: name (a path such as data/train-00000-of-00001.parquet for the "
        "Parquet shards), size, sha256 and its URL."
    )
    archive = serializers.SerializerMethodField(
        help_text="The whole snapshot as one tar (streamed): name, size, sha256 and its URL."
    )
    archive_gz = serializers.SerializerMethodField(
        help_text="The same tar gzipped, written when the snapshot was built (gunzipped, it is "
        "the tar byte for byte): name, size, sha256 and its URL; null for snapshots built before "
        "it was written."
    )
    created_by = serializers.CharField(
        source="created_by.username",
        default=None,
        allow_null=True,
        help_text="Who asked for it; null for a scheduled snapshot.",
    )
    progress_url = serializers.SerializerMethodField()
    pinned_by = serializers.CharField(
        source="pinned_by.username",
        default=None,
        allow_null=True,
        help_text="Who pinned it; null when it is not pinned.",
    )
    removals = serializers.SerializerMethodField(
        help_text="How many records removed since the parent by reason (withdrawn, erased, "
        "moderated); the ids are in manifest.json. Empty for snapshots built before it was kept."
    )

    class Meta:
        model = Snapshot
        fields = [
            "id",
            "version",
            "status",
            "progress",
            "stage",
            "record_count",
            "category_counts",
            "files",
            "archive",
            "archive_gz",
            "parent",
            "parent_version",
            "changes",
            "removals",
            "options",
            "created_at",
            "created_by",
            "finished_at",
            "error",
            "job_id",
            "progress_url",
            "pinned",
            "pinned_by",
        ]

    def _described(self, snapshot, item: dict) -> dict:
        url = reverse("api-snapshot-file", args=[snapshot.pk, item["name"]])
        request = self.context.get("request")
        return {
            "name": item["name"],
            "size": item["size"],
            "sha256": item["sha256"],
            "url": request.build_absolute_uri(url) if request else url,
        }

    def get_files(self, snapshot) -> list[dict]:
        if not snapshot.is_ready:
            return []
        return [self._described(snapshot, item) for item in snapshot.files]

    def get_archive(self, snapshot) -> dict | None:
        return self._described(snapshot, snapshot.archive) if snapshot.is_ready else None

    def get_archive_gz(self, snapshot) -> dict | None:
        if not snapshot.is_ready or not snapshot.archive_gz:
            return None
        return self._described(snapshot, snapshot.archive_gz)

    def get_removals(self, snapshot) -> dict[str, int]:
        # Counted by the database (selectors.snapshot_list): the ids stay out of the list.
        counts = snapshot.removed_by_reason
        return {reason: n for reason, n in counts.items() if n is not None}

    def get_progress_url(self, snapshot) -> str:
        url = reverse("api-snapshot", args=[snapshot.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


DEFAULT_OPTIONS = services.SnapshotOptions()


class SnapshotRequestSerializer(serializers.Serializer):
    """The options, checked for their types here and for their values by SnapshotOptions.parse;
    the defaults are the options type's, named here only for the API's schema."""

    categories = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Category slugs; none: every one."
    )
    min_approvals = serializers.IntegerField(default=DEFAULT_OPTIONS.min_approvals)
    include_imported = serializers.BooleanField(default=DEFAULT_OPTIONS.include_imported)
    validation_percent = serializers.FloatField(default=DEFAULT_OPTIONS.validation_percent)
    request_key = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="Sending the same key again returns the snapshot it made instead of a second "
        "one (the Idempotency-Key header works too).",
    )


PERMISSIONS = [IsAuthenticated, IsDataScientist]


class SnapshotListApi(ListAPIView):
    permission_classes = PERMISSIONS
    serializer_class = SnapshotSerializer

    def get_queryset(self):
        return selectors.snapshot_list()

    @extend_schema(summary="Snapshots, newest first")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Build a new snapshot",
        request=SnapshotRequestSerializer,
        responses={
            202: OpenApiResponse(SnapshotSerializer, description="Building: poll progress_url."),
            200: OpenApiResponse(SnapshotSerializer, description="Asked for before (same key)."),
            400: OpenApiResponse(description="An option is wrong; the message says which."),
            409: OpenApiResponse(description="This request key asked for other options."),
        },
    )
    def post(self, request):
        data = SnapshotRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        options = dict(data.validated_data)
        key = options.pop("request_key", "") or request.headers.get("Idempotency-Key", "")
        try:
            snapshot, created = services.snapshot_request(
                user=request.user, options=options, request_key=key, origin=SnapshotOrigin.API
            )
        except ValidationError as exc:
            return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
        snapshot = selectors.snapshot_list().get(pk=snapshot.pk)
        body = SnapshotSerializer(snapshot, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


SNAPSHOT_ID = OpenApiParameter(
    "snapshot_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description='A snapshot id, or "latest" for the newest ready snapshot.',
)


class SnapshotDetailApi(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(summary="One snapshot, with its progress", responses=SnapshotSerializer)
    def get(self, request, snapshot_id: str):
        snapshot = downloads.snapshot_or_404(snapshot_id)
        return Response(SnapshotSerializer(snapshot, context={"request": request}).data)


class SnapshotLatestApi(SnapshotDetailApi):
    @extend_schema(
        summary="The newest ready snapshot",
        responses={
            200: SnapshotSerializer,
            404: OpenApiResponse(description="No snapshot is ready yet."),
        },
    )
    def get(self, request):
        return super().get(request, "latest")


class SnapshotFileApi(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(
        summary="Download a file of a ready snapshot (streamed; sha256 in X-Checksum-SHA256)",
        parameters=[SNAPSHOT_ID],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request, snapshot_id: str, name: str):
        return downloads.file_response(downloads.snapshot_or_404(snapshot_id), name)


class SnapshotPinApi(APIView):
    """Pinning: the retention rule (FLOCK_NIGHTLY_KEEP) never prunes a pinned snapshot."""

    permission_classes = PERMISSIONS
    ERRORS = {
        401: OpenApiResponse(description="Not signed in (no session or token)."),
        403: OpenApiResponse(description="Not a data scientist or staff."),
        404: OpenApiResponse(description="No such snapshot."),
    }

    def _pin(self, request, snapshot_id: int, pinned: bool) -> Response:
        snapshot = downloads.snapshot_or_404(snapshot_id)
        services.snapshot_pin(snapshot=snapshot, user=request.user, pinned=pinned)
        snapshot = selectors.snapshot_list().get(pk=snapshot.pk)
        return Response(SnapshotSerializer(snapshot, context={"request": request}).data)

    @extend_schema(
        summary="Pin a ready snapshot, so that the retention rule keeps it",
        request=None,
        responses={
            200: OpenApiResponse(SnapshotSerializer, description="Pinned (or pinned already)."),
            **ERRORS,
            409: OpenApiResponse(description="Not ready (pruned, failed or still building)."),
        },
    )
    def post(self, request, snapshot_id: int):
        return self._pin(request, snapshot_id, pinned=True)

    @extend_schema(
        summary="Unpin a snapshot (any status)",
        request=None,
        responses={200: OpenApiResponse(SnapshotSerializer, description="Unpinned."), **ERRORS},
    )
    def delete(self, request, snapshot_id: int):
        return self._pin(request, snapshot_id, pinned=False)
