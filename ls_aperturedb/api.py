"""API views: Label Studio's generic storage views bound to the ApertureDB serializers."""
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
from projects.models import Project
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response

from ls_aperturedb.access import in_organization
from ls_aperturedb.models import ApertureDBExportStorage, ApertureDBImportStorage
from ls_aperturedb.serializers import ApertureDBExportStorageSerializer, ApertureDBImportStorageSerializer


class OrganizationScopedListMixin:
    """List and create only within the user's own organization (404 / 403 otherwise)."""

    def get_queryset(self):
        project = Project.objects.filter(pk=self.request.query_params.get("project")).first()
        if project is not None and not in_organization(self.request.user, project):
            raise NotFound()
        return super().get_queryset()

    def perform_create(self, serializer):
        if not in_organization(self.request.user, serializer.validated_data.get("project")):
            raise PermissionDenied("You do not have permission to create storages for this project.")
        super().perform_create(serializer)


class ApertureDBImportStorageListAPI(OrganizationScopedListMixin, ImportStorageListAPI):
    serializer_class = ApertureDBImportStorageSerializer


class ApertureDBImportStorageDetailAPI(ImportStorageDetailAPI):
    queryset = ApertureDBImportStorage.objects.all()
    serializer_class = ApertureDBImportStorageSerializer


class ApertureDBImportStorageSyncAPI(ImportStorageSyncAPI):
    serializer_class = ApertureDBImportStorageSerializer


class ApertureDBImportStorageValidateAPI(ImportStorageValidateAPI):
    serializer_class = ApertureDBImportStorageSerializer


class ApertureDBImportStorageFormLayoutAPI(ImportStorageFormLayoutAPI):
    pass


class ApertureDBImportStorageListFilesAPI(ImportStorageListFilesAPI):
    """``limit`` is both the storage's import cap and the preview's sample size: an empty one (the
    wizard sends the form as it is) means Label Studio's default sample, not a crash on ``int('')``."""

    def create(self, request, *args, **kwargs):
        if "limit" in request.data and not str(request.data["limit"]).strip():
            if hasattr(request.data, "_mutable"):
                request.data._mutable = True
            request.data.pop("limit")
        return super().create(request, *args, **kwargs)


def import_storage_list_files_view():
    return ApertureDBImportStorageListFilesAPI().as_view(serializer_class=ApertureDBImportStorageSerializer)


class ApertureDBExportStorageListAPI(OrganizationScopedListMixin, ExportStorageListAPI):
    serializer_class = ApertureDBExportStorageSerializer


class ApertureDBExportStorageDetailAPI(ExportStorageDetailAPI):
    queryset = ApertureDBExportStorage.objects.all()
    serializer_class = ApertureDBExportStorageSerializer


class ApertureDBExportStorageSyncAPI(ExportStorageSyncAPI):
    serializer_class = ApertureDBExportStorageSerializer


class ApertureDBExportStorageValidateAPI(ExportStorageValidateAPI):
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


class TaskResolveAPI(OrganizationScopedResolveMixin, TaskResolveStorageUri):
    pass


class ProjectResolveAPI(OrganizationScopedResolveMixin, ProjectResolveStorageUri):
    pass
