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

from ls_aperturedb.models import ApertureDBExportStorage, ApertureDBImportStorage
from ls_aperturedb.serializers import ApertureDBExportStorageSerializer, ApertureDBImportStorageSerializer


class ApertureDBImportStorageListAPI(ImportStorageListAPI):
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


def import_storage_list_files_view():
    return ImportStorageListFilesAPI().as_view(serializer_class=ApertureDBImportStorageSerializer)


class ApertureDBExportStorageListAPI(ExportStorageListAPI):
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
