"""``GET_STORAGE_LIST``: Label Studio's storages plus ApertureDB (types API, lists, media resolution)."""
from io_storages.functions import get_storage_list as label_studio_storage_list


def get_storage_list():
    from ls_aperturedb.api import ApertureDBExportStorageListAPI, ApertureDBImportStorageListAPI

    return [
        *label_studio_storage_list(),
        {
            "name": "aperturedb",
            "title": "ApertureDB",
            "import_list_api": ApertureDBImportStorageListAPI,
            "export_list_api": ApertureDBExportStorageListAPI,
        },
    ]
