"""The plugin's routes, mounted before Label Studio's own (same shapes as ``io_storages/urls.py``)."""
from core.urls import urlpatterns as label_studio_urlpatterns
from django.urls import include, path, re_path
from django.views.static import serve

from ls_aperturedb import api, frontend

_import = [
    path("aperturedb/", api.ApertureDBImportStorageListAPI.as_view(), name="storage-aperturedb-list"),
    path("aperturedb", api.ApertureDBImportStorageListAPI.as_view()),
    path("aperturedb/<int:pk>", api.ApertureDBImportStorageDetailAPI.as_view(), name="storage-aperturedb-detail"),
    path("aperturedb/<int:pk>/sync", api.ApertureDBImportStorageSyncAPI.as_view(), name="storage-aperturedb-sync"),
    path("aperturedb/validate", api.ApertureDBImportStorageValidateAPI.as_view(), name="storage-aperturedb-validate"),
    path("aperturedb/form", api.ApertureDBImportStorageFormLayoutAPI.as_view(), name="storage-aperturedb-form"),
    path("aperturedb/files", api.import_storage_list_files_view(), name="storage-aperturedb-list-files"),
    path("aperturedb/schema", api.ApertureDBImportStorageSchemaAPI.as_view(), name="storage-aperturedb-schema"),
]
_export = [
    path("export/aperturedb", api.ApertureDBExportStorageListAPI.as_view(), name="export-storage-aperturedb-list"),
    path("export/aperturedb/", api.ApertureDBExportStorageListAPI.as_view()),
    path("export/aperturedb/<int:pk>", api.ApertureDBExportStorageDetailAPI.as_view(),
         name="export-storage-aperturedb-detail"),
    path("export/aperturedb/<int:pk>/sync", api.ApertureDBExportStorageSyncAPI.as_view(),
         name="export-storage-aperturedb-sync"),
    path("export/aperturedb/validate", api.ApertureDBExportStorageValidateAPI.as_view(),
         name="export-storage-aperturedb-validate"),
    path("export/aperturedb/form", api.ApertureDBExportStorageFormLayoutAPI.as_view(),
         name="export-storage-aperturedb-form"),
]

urlpatterns = [
    # Label Studio serves /static/ from its own build only: the plugin's frontend files get their own route.
    re_path(rf"^{frontend.STATIC_URL}(?P<path>.*)$", serve, {"document_root": frontend.STATIC_ROOT},
            name="ls-aperturedb-static"),
    path("api/storages/", include((_import + _export, "ls_aperturedb"), namespace="aperturedb-api")),
    # Label Studio's resolve proxy, same paths, with the organization boundary (see access.py): every
    # route of io_storages/urls.py that reaches a storage's bytes, /presign/ being its old alias.
    # tests/test_permissions.py fails if Label Studio gains one that is not shadowed here.
    path("tasks/<int:task_id>/resolve/", api.TaskResolveAPI.as_view()),
    path("projects/<int:project_id>/resolve/", api.ProjectResolveAPI.as_view()),
    path("tasks/<int:task_id>/presign/", api.TaskResolveAPI.as_view()),
    path("projects/<int:project_id>/presign/", api.ProjectResolveAPI.as_view()),
    # Label Studio's task list and next-task views, which serve any signed-in user, with the same boundary.
    path("api/tasks/", api.TaskListAPI.as_view()),
    path("api/projects/<int:pk>/next/", api.ProjectNextTaskAPI.as_view()),
    # Label Studio's Data Manager actions run any action on any project id for any signed-in user.
    path("api/dm/actions/", api.ProjectActionsAPI.as_view()),
    path("api/dm/actions/<str:action_id>/form/", api.ProjectActionsFormAPI.as_view()),
    *label_studio_urlpatterns,
]
