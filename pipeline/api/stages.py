"""Pipelines and stages: serializers and viewsets."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django.db.models import Prefetch, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline import services
from pipeline.models import (
    Pipeline,
    Stage,
)
from spm.api.base import TenantModelViewSet, TenantPrimaryKeyRelatedField
from spm.api.filters import IdFilter
from spm.permissions import ADMIN


class StageSerializer(serializers.ModelSerializer):
    pipeline = TenantPrimaryKeyRelatedField(model=Pipeline)

    class Meta:
        model = Stage
        fields = [
            "id",
            "pipeline",
            "name",
            "position",
            "probability",
            "forecast_category",
            "is_won",
            "is_lost",
            "is_active",
        ]
        read_only_fields = ["id"]
        extra_kwargs: ClassVar[dict[str, Any]] = {"position": {"required": False}}


class StageUpdateSerializer(StageSerializer):
    class Meta(StageSerializer.Meta):
        read_only_fields = ["id", "pipeline"]


class PipelineSerializer(serializers.ModelSerializer):
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Pipeline
        fields = ["id", "name", "position", "is_active", "stages", "created_at"]
        read_only_fields = ["id", "stages", "created_at"]
        extra_kwargs: ClassVar[dict[str, Any]] = {"position": {"required": False}}


class PipelineCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    with_default_stages = serializers.BooleanField(
        default=True, help_text="Start with the standard stages (rename or retire them later)."
    )


class StageOrderSerializer(serializers.Serializer):
    stages = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Every stage id of the pipeline, in the new order.",
    )


class PipelineViewSet(TenantModelViewSet):
    """Sales pipelines with their ordered stages. Everyone reads them; admins
    change them. ``POST pipelines/{id}/reorder/`` puts the stages in order."""

    model = Pipeline
    serializer_class = PipelineSerializer
    write_roles = ADMIN
    filterset_fields: ClassVar[list[str]] = ["is_active"]
    ordering = ["position", "id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.prefetch_related(
            Prefetch(
                "stages",
                queryset=Stage.objects.filter(tenant=self.tenant).order_by("position", "id"),
            )
        )

    @extend_schema(request=PipelineCreateSerializer, responses={201: PipelineSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = PipelineCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pipeline = services.pipeline_create(
            self.tenant, actor=self.membership, **data.validated_data
        )
        pipeline = self.get_queryset().get(pk=pipeline.pk)
        return Response(PipelineSerializer(pipeline).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        pipeline = self.get_object()
        serializer = self.get_serializer(
            pipeline, data=request.data, partial=kwargs.pop("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        services.pipeline_update(
            self.tenant, pipeline=pipeline, actor=self.membership, **serializer.validated_data
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=pipeline.pk)).data)

    def perform_destroy(self, instance: Pipeline) -> None:
        services.pipeline_delete(self.tenant, pipeline=instance, actor=self.membership)

    @extend_schema(request=StageOrderSerializer, responses=PipelineSerializer)
    @action(detail=True, methods=["post"])
    def reorder(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        pipeline = self.get_object()
        data = StageOrderSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.stage_reorder(
            self.tenant,
            pipeline=pipeline,
            stage_ids=data.validated_data["stages"],
            actor=self.membership,
        )
        return Response(PipelineSerializer(self.get_queryset().get(pk=pipeline.pk)).data)


class StageFilter(filters.FilterSet):
    pipeline = IdFilter(field_name="pipeline_id")

    class Meta:
        model = Stage
        fields = ["pipeline", "is_active", "is_won", "is_lost"]


class StageViewSet(TenantModelViewSet):
    """Stages of every pipeline. Retire a stage with ``is_active: false``; a
    stage that has held deals cannot be deleted."""

    model = Stage
    serializer_class = StageSerializer
    write_roles = ADMIN
    filterset_class = StageFilter
    ordering = ["pipeline", "position", "id"]

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action in ("update", "partial_update"):
            return StageUpdateSerializer
        return StageSerializer

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.stage_create(
            self.tenant, actor=self.membership, **serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.stage_update(
            self.tenant,
            stage=cast(Stage, serializer.instance),
            actor=self.membership,
            **serializer.validated_data,
        )

    def perform_destroy(self, instance: Stage) -> None:
        services.stage_delete(self.tenant, stage=instance, actor=self.membership)
