"""API views: Label Studio's generic storage views bound to the ApertureDB serializers, kept inside
the organization boundary (see ``access``)."""
import logging

from data_manager import api as dm_api
from django.conf import settings
from io_storages.api import (
    ExportStorageDetailAPI,
    ExportStorageFormLayoutAPI,
    ExportStorageListAPI,
    ExportStorageSyncAPI,
    ExportStorageValidateAPI,
    ImportStorageDetailAPI,
    ImportStorageFormLayoutAPI,
    ImportStorageListAPI,
    ImportStorageListFilesAPI,
    ImportStorageSyncAPI,
    ImportStorageValidateAPI,
)

from io_storages.proxy_api import ProjectResolveStorageUri, TaskResolveStorageUri
from projects import api as projects_api
from projects.models import Project
from rest_framework import generics
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from tasks import api as tasks_api

from ls_aperturedb.access import in_organization, storage_for_change, storages_of
from ls_aperturedb.serializers import ApertureDBExportStorageSerializer, ApertureDBImportStorageSerializer
from ls_aperturedb.source.preview import preview, schema_properties
from ls_aperturedb.source.selection import SelectionProblem

logger = logging.getLogger(__name__)


class OrganizationScopedListMixin:
    """List only within the user's own organization. ``?project=`` that is missing answers 400, one
    that is not a project id (``abc``) or not of the user's organization 404, as Label Studio's own
    storages do; creating in a foreign project is refused by the serializer (403)."""

    def get_queryset(self):
        if self.request.query_params.get("project"):
            project = generics.get_object_or_404(Project, pk=self.request.query_params["project"])
            if not in_organization(self.request.user, project):
                raise NotFound()
        return super().get_queryset()


class OrganizationScopedObjectMixin:
    """Detail and sync reach only storages of the user's organizations; any other id is 404."""

    def get_queryset(self):
        return storages_of(self.serializer_class.Meta.model, self.request.user)


class StoredStorageValidateMixin:
    """Validate (and preview) a storage as the form holds it. With an ``id`` the stored storage is the
    base, loaded only if the user may change it (404 otherwise); its stored secrets are used only with
    its stored server (see the serializer). Nothing is saved: validating is not editing."""

    def validated_storage(self, request):
        model = self.serializer_class.Meta.model
        existing = storage_for_change(model, request.data["id"], request.user) if request.data.get("id") else None
        serializer = self.serializer_class(data=request.data, context={**self.get_serializer_context(),
                                                                       "existing": existing})
        serializer.is_valid(raise_exception=True)
        if existing is None:
            return model(**serializer.validated_data)
        for name, value in serializer.validated_data.items():
            setattr(existing, name, value)
        return existing

    def create(self, request, *args, **kwargs):
        self.validated_storage(request)
        return Response()


class ApertureDBImportStorageListAPI(OrganizationScopedListMixin, ImportStorageListAPI):
    serializer_class = ApertureDBImportStorageSerializer


class ApertureDBImportStorageDetailAPI(OrganizationScopedObjectMixin, ImportStorageDetailAPI):
    serializer_class = ApertureDBImportStorageSerializer


class ApertureDBImportStorageSyncAPI(OrganizationScopedObjectMixin, ImportStorageSyncAPI):
    serializer_class = ApertureDBImportStorageSerializer


class ApertureDBImportStorageValidateAPI(StoredStorageValidateMixin, ImportStorageValidateAPI):
    serializer_class = ApertureDBImportStorageSerializer


class ApertureDBImportStorageFormLayoutAPI(ImportStorageFormLayoutAPI):
    pass


class ApertureDBImportStorageListFilesAPI(StoredStorageValidateMixin, ImportStorageListFilesAPI):
    """The wizard's preview: the images the form's settings match. ``limit`` is both the storage's
    import cap and the preview's sample size: an empty one (the wizard sends the form as it is) means
    Label Studio's default sample, not a crash on ``int('')``."""

    def create(self, request, *args, **kwargs):
        if "limit" in request.data and not str(request.data["limit"]).strip():
            if hasattr(request.data, "_mutable"):
                request.data._mutable = True
            request.data.pop("limit")
        try:
            limit = int(request.data.get("limit", settings.DEFAULT_STORAGE_LIST_LIMIT))
        except (TypeError, ValueError):
            raise ValidationError({"limit": ["a whole number is required"]}) from None
        storage = self.validated_storage(request)
        try:
            found = preview(storage, limit)
        except SelectionProblem as problem:  # e.g. an example without a descriptor: say which
            raise ValidationError({"selection": [str(problem)]}) from None
        except Exception as exc:
            logger.warning("preview of ApertureDB storage %s failed: %s", storage.id, exc)
            raise ValidationError("Failed to list storage files") from None
        if found.get("more") or (found["count"] or 0) > len(found["files"]):  # Label Studio's "more" marker
            found["files"].append({"key": None, "last_modified": None, "size": None})
        return Response(found)


class ApertureDBImportStorageSchemaAPI(StoredStorageValidateMixin, ImportStorageValidateAPI):
    """The property names the form offers (``GetSchema``): image properties, and box/polygon properties
    (scores, model versions). Same body and checks as ``validate``; nothing is saved."""

    serializer_class = ApertureDBImportStorageSerializer

    def create(self, request, *args, **kwargs):
        storage = self.validated_storage(request)
        try:
            return Response(schema_properties(storage))
        except Exception as exc:
            logger.warning("GetSchema of ApertureDB storage %s failed: %s", storage.id, exc)
            raise ValidationError("ApertureDB did not describe its schema") from None


def import_storage_list_files_view():
    return ApertureDBImportStorageListFilesAPI().as_view(serializer_class=ApertureDBImportStorageSerializer)


class ApertureDBExportStorageListAPI(OrganizationScopedListMixin, ExportStorageListAPI):
    serializer_class = ApertureDBExportStorageSerializer


class ApertureDBExportStorageDetailAPI(OrganizationScopedObjectMixin, ExportStorageDetailAPI):
    serializer_class = ApertureDBExportStorageSerializer


class ApertureDBExportStorageSyncAPI(OrganizationScopedObjectMixin, ExportStorageSyncAPI):
    serializer_class = ApertureDBExportStorageSerializer


class ApertureDBExportStorageValidateAPI(StoredStorageValidateMixin, ExportStorageValidateAPI):
    serializer_class = ApertureDBExportStorageSerializer


class ApertureDBExportStorageFormLayoutAPI(ExportStorageFormLayoutAPI):
    pass


class OrganizationScopedResolveMixin:
    """Label Studio's resolve proxy, refused (404) to users outside the project's organization."""

    def resolve(self, request, fileuri, instance):
        project = instance if isinstance(instance, Project) else instance.project
        if not in_organization(request.user, project):
            return Response(status=404)
        return super().resolve(request, fileuri, instance)


class OrganizationBoundaryMixin:
    """Label Studio's open-source views check only authentication; these show task data (ApertureDB
    properties, predictions, media links), so a project outside the user's organization answers 404."""

    def check_object_permissions(self, request, obj):
        project = obj if isinstance(obj, Project) else getattr(obj, "project", None)
        if project is not None and not in_organization(request.user, project):
            raise NotFound()
        super().check_object_permissions(request, obj)


class TaskListAPI(OrganizationBoundaryMixin, tasks_api.TaskListAPI):
    pass


class ProjectNextTaskAPI(OrganizationBoundaryMixin, projects_api.ProjectNextTaskAPI):
    pass


class ProjectActionsAPI(OrganizationBoundaryMixin, dm_api.ProjectActionsAPI):
    """Data Manager actions (Label Studio's own delete/retrieve actions and ours) on a project of the
    caller's organization only."""


class ProjectActionsFormAPI(OrganizationBoundaryMixin, dm_api.ProjectActionsFormAPI):
    pass


class TaskResolveAPI(OrganizationScopedResolveMixin, TaskResolveStorageUri):
    pass


class ProjectResolveAPI(OrganizationScopedResolveMixin, ProjectResolveStorageUri):
    pass
