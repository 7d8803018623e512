"""The organization boundary for ApertureDB storages and their media.

Label Studio's open-source edition runs one organization and lets any authenticated user reach any
project's storages and resolve proxy. ApertureDB storages carry credentials and stream images, so
their API and media require an active membership of the project's organization. A storage outside
it answers 404 (its existence is not revealed); a project outside it cannot receive a storage (403,
as Label Studio's own create answers).
"""
from rest_framework.exceptions import NotFound, PermissionDenied

NOT_YOUR_PROJECT = "You do not have permission to create storages for this project."


def in_organization(user, project):
    return bool(project is not None and user.is_authenticated and project.organization.has_permission(user))


def storages_of(model, user):
    """The storages of ``model`` in projects of the organizations ``user`` is an active member of."""
    from organizations.models import OrganizationMember

    if not user.is_authenticated:
        return model.objects.none()
    memberships = OrganizationMember.objects.filter(user=user, deleted_at__isnull=True)
    return model.objects.filter(project__organization_id__in=memberships.values("organization_id"))


def storage_for_change(model, pk, user):
    """The storage ``pk`` if ``user`` may change it; 404 for any other id (unknown, not a number,
    or of another organization), so a request cannot borrow a foreign storage's stored secrets."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    storage = storages_of(model, user).filter(pk=pk).first()
    if storage is None or not storage.has_permission(user):
        raise NotFound()
    return storage


def require_project_member(user, project):
    """Creating a storage in ``project``, or moving one there, needs membership of its organization."""
    if project is not None and not (in_organization(user, project) and project.has_permission(user)):
        raise PermissionDenied(NOT_YOUR_PROJECT)
