"""The drive dashboard's API (staff only): the figures as JSON, or one table as a file with
`?format=csv|parquet` (`?table=` picks among the endpoint's tables). Thin: the figures come
from drive.figures, the tables and their files from drive.tables, as for the page."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.roles import is_moderator
from drive import tables
from drive.figures import DriveFigures, drive_figures


class IsOrganiser(BasePermission):
    message = "The drive's figures are for organisers and moderators (staff)."

    def has_permission(self, request, view) -> bool:
        return is_moderator(request.user)


class DownloadNegotiation(DefaultContentNegotiation):
    """Here `?format=` names a file the view writes (csv, parquet), not one of DRF's renderers:
    the answer is JSON unless the view returns a file."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


# --- Serializers, made from the tables' columns -----------------------------------------------

_FIELDS = {
    "int": serializers.IntegerField,
    "float": serializers.FloatField,
    "share": serializers.FloatField,
    "hours": serializers.FloatField,
    "str": serializers.CharField,
    "date": serializers.DateField,
    "datetime": serializers.DateTimeField,
    "bool": serializers.BooleanField,
}


def _row_serializer(table: tables.Table) -> type[serializers.Serializer]:
    fields = {
        column.name: _FIELDS[column.kind](
            help_text=column.label, **({"allow_null": True} if column.nullable else {})
        )
        for column in table.columns
    }
    name = "".join(part.title() for part in table.name.split("_"))
    return type(f"Drive{name}Row", (serializers.Serializer,), fields)


ROWS = {name: _row_serializer(table) for name, table in tables.TABLES.items()}


def _nullable_float(help_text: str):
    return serializers.FloatField(allow_null=True, help_text=help_text)


class ProgressSerializer(serializers.Serializer):
    computed_at = serializers.DateTimeField(help_text="When the figures were computed.")
    categories = ROWS["categories"](many=True)


class ParticipationSerializer(serializers.Serializer):
    computed_at = serializers.DateTimeField()
    contributors = serializers.IntegerField(help_text="People who submitted or reviewed lately.")
    top_count = serializers.IntegerField(help_text="How many people are the top 5%.")
    top_share = _nullable_float("Their share of the work (entries submitted + reviews).")
    days = ROWS["days"](many=True)
    hours = ROWS["hours"](many=True)
    teams = ROWS["teams"](many=True)


class FlowSerializer(serializers.Serializer):
    computed_at = serializers.DateTimeField()
    waiting = serializers.IntegerField(help_text="Entries under review.")
    waiting_p50_hours = _nullable_float("Their age since submission, median.")
    waiting_p90_hours = _nullable_float("Their age since submission, 90th percentile.")
    decided = serializers.IntegerField(help_text="Decisions timed (not overturns).")
    decision_p50_hours = _nullable_float("Hours from a round's start to its decision, median.")
    decision_p90_hours = _nullable_float("Hours from a round's start to its decision, p90.")
    agreement_reviews = serializers.IntegerField(help_text="Reviews of decided rounds.")
    agreement_agreed = serializers.IntegerField(help_text="Those agreeing with the decision.")
    agreement_rate = _nullable_float("Reviewer agreement: agreed / reviews.")
    drive_approval_rate = _nullable_float("Approvals among all reviews.")
    backlog = ROWS["backlog"](many=True)
    acceptance = ROWS["acceptance"](many=True)
    reasons = ROWS["reasons"](many=True)
    flags = ROWS["flags"](many=True)
    accuracy = ROWS["accuracy"](many=True)
    rings = ROWS["rings"](many=True)


# --- Views -----------------------------------------------------------------------------------


def _schema(endpoint: str, body, summary: str):
    names = [table.name for table in tables.tables_of(endpoint)]
    return extend_schema(
        parameters=[
            OpenApiParameter(
                "format",
                enum=["json", *tables.FORMATS],
                default="json",
                description="json: the figures; csv or parquet: one table as a file.",
            ),
            OpenApiParameter(
                "table",
                enum=names,
                default=tables.MAIN_TABLE[endpoint],
                description="Which table a csv or parquet file holds.",
            ),
        ],
        responses={
            (200, "application/json"): body,
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/vnd.apache.parquet"): OpenApiTypes.BINARY,
            400: OpenApiResponse(description="An unknown format or table."),
            403: OpenApiResponse(description="Not staff: the drive's figures are for organisers."),
        },
        summary=summary,
    )


class DriveApi(APIView):
    permission_classes = [IsAuthenticated, IsOrganiser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = DownloadNegotiation
    endpoint = ""
    serializer_class: type[serializers.Serializer]

    def get(self, request):
        file_format = request.query_params.get("format", "json")
        if file_format not in ("json", *tables.FORMATS):
            raise ValidationError({"format": ["Choose json, csv or parquet."]})
        table = self._table(request.query_params.get("table"))
        figures = drive_figures()
        if file_format == "json":
            # The rows are plain JSON values already (drive.tables.table_records); the serializer
            # documents them in the schema, and running thousands of rows through it would cost
            # more than the figures.
            return Response(self.body(figures))
        content, content_type, filename = tables.table_file(figures, table, file_format)
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def _table(self, name: str | None) -> tables.Table:
        names = [table.name for table in tables.tables_of(self.endpoint)]
        name = name or tables.MAIN_TABLE[self.endpoint]
        if name not in names:
            raise ValidationError({"table": [f"Choose one of {', '.join(names)}."]})
        return tables.TABLES[name]

    def body(self, figures: DriveFigures) -> dict:
        body = {"computed_at": figures.computed_at.isoformat()}
        for table in tables.tables_of(self.endpoint):
            body[table.name] = tables.table_records(figures, table)
        return body


class ProgressApi(DriveApi):
    endpoint = "progress"
    serializer_class = ProgressSerializer

    @_schema("progress", ProgressSerializer, "Progress per category and the forecasts (staff)")
    def get(self, request):
        return super().get(request)


class ParticipationApi(DriveApi):
    endpoint = "participation"
    serializer_class = ParticipationSerializer

    def body(self, figures: DriveFigures) -> dict:
        summary = figures.summary
        return {
            **super().body(figures),
            "contributors": summary.contributors,
            "top_count": summary.top_count,
            "top_share": summary.top_share,
        }

    @_schema("participation", ParticipationSerializer, "Who writes and reviews (staff)")
    def get(self, request):
        return super().get(request)


class FlowApi(DriveApi):
    endpoint = "flow"
    serializer_class = FlowSerializer

    def body(self, figures: DriveFigures) -> dict:
        summary = figures.summary
        fields = [name for name in FlowSerializer().fields if hasattr(summary, name)]
        return {**super().body(figures), **{name: getattr(summary, name) for name in fields}}

    @_schema("flow", FlowSerializer, "Backlog, decisions, agreement, accuracy, rings (staff)")
    def get(self, request):
        return super().get(request)
