"""Data Manager action "Import similar from ApertureDB", registered through Label Studio's own mechanism.

``data_manager.actions.register_action`` adds it to ``settings.DATA_MANAGER_ACTIONS``, which the Data
Manager lists (``GET /api/dm/actions``), whose dialog form it loads (``/api/dm/actions/<id>/form``) and
which it runs (``POST /api/dm/actions?id=...&project=...`` with the selected tasks). The action queues a
one-off sync of the chosen storage on a Celery worker: the nearest images to each selected task's image
that the project does not have yet become tasks. Progress and the count of created tasks are the
storage's sync status (``status``, ``meta.tasks_created``), as for any sync.

Label Studio's open-source edition runs actions for any signed-in user on any project id; this one
answers 404 outside the project's organization and only uses a storage of that project.
"""
from rest_framework.exceptions import ValidationError

ACTION_ID = "import_similar_from_aperturedb"
MAX_EXAMPLES = 100  # selected tasks per run: each is one k-NN search in ApertureDB
MAX_K = 1000


def import_similar_from_aperturedb(project, queryset, **kwargs):
    from ls_aperturedb.access import in_organization
    from ls_aperturedb.source.selecting import example_images
    from ls_aperturedb.source.selection import SelectionProblem
    from ls_aperturedb.tasks import start_import_sync

    request = kwargs["request"]
    if not in_organization(request.user, project):
        return {"response_code": 404, "detail": "Not found."}
    storage, k = _storage(project, request.data.get("storage")), _k(request.data.get("k"))
    task_ids = list(queryset.values_list("id", flat=True)[:MAX_EXAMPLES + 1])
    if not task_ids:
        raise ValidationError({"selectedItems": ["select the tasks whose images are the examples"]})
    if len(task_ids) > MAX_EXAMPLES:
        raise ValidationError({"selectedItems": [f"select at most {MAX_EXAMPLES} tasks"]})
    if not storage.similar_set:
        raise ValidationError({"storage": [f"storage {storage.title or storage.id!r} names no descriptor set: "
                                           "enter one (Descriptor set) in its settings"]})
    try:
        example_images(storage, task_ids)
    except SelectionProblem as problem:
        raise ValidationError({"selectedItems": [str(problem)]}) from None
    run = start_import_sync(storage, selection={"tasks": task_ids, "k": k})
    if run is None:
        return {"response_code": 409, "detail": "A sync of this storage is running: try again when it has finished."}
    return {"detail": f"Importing the {k} nearest new images to each of {len(task_ids)} tasks' images from "
                      f"ApertureDB; progress and the count are on the storage (Settings > Cloud Storage).",
            "storage": storage.id, "sync": run,
            "async": True}  # the Data Manager then says "Your action is being processed in the background."


def _storage(project, value):
    from ls_aperturedb.models import ApertureDBImportStorage

    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise ValidationError({"storage": ["choose an ApertureDB source storage of this project"]}) from None
    storage = ApertureDBImportStorage.objects.filter(project=project, pk=pk).first()
    if storage is None:
        raise ValidationError({"storage": [f"storage {pk} is not an ApertureDB source storage of this project"]})
    return storage


def _k(value):
    try:
        k = int(value if value not in (None, "") else 10)
    except (TypeError, ValueError):
        raise ValidationError({"k": ["a whole number is required"]}) from None
    if not 1 <= k <= MAX_K:
        raise ValidationError({"k": [f"k must be between 1 and {MAX_K}"]})
    return k


def import_similar_form(user, project):
    """The dialog: which storage (of this project) and k."""
    from ls_aperturedb.access import in_organization
    from ls_aperturedb.models import ApertureDBImportStorage

    if not in_organization(user, project):
        return []
    storages = ApertureDBImportStorage.objects.filter(project=project).order_by("id")
    options = [{"value": str(s.id), "label": f"{s.title or 'ApertureDB'} (#{s.id})"} for s in storages]
    return [{"columnCount": 1, "fields": [
        {"type": "select", "name": "storage", "label": "ApertureDB storage", "options": options,
         "value": options[0]["value"] if options else None},
        {"type": "number", "name": "k", "label": "Nearest images per selected task (k)", "value": 10},
    ]}]


def register():
    from core.permissions import AllPermissions
    from data_manager.actions import register_action

    register_action(
        import_similar_from_aperturedb, "Import similar from ApertureDB", 95,
        permission=AllPermissions().tasks_change,
        dialog={"title": "Import similar from ApertureDB",
                "text": "Import the images nearest to each selected task's image (k-NN over the storage's "
                        "descriptor set) that this project does not have yet. A worker imports them in the "
                        "background; the storage shows progress and the count.",
                "type": "confirm", "form": import_similar_form})
