"""The organization boundary for ApertureDB storages and their media.

Label Studio's open-source edition runs one organization and lets any authenticated user reach any
project's storages and resolve proxy. ApertureDB storages carry credentials and stream images, so
their API and media require an active membership of the project's organization.
"""


def in_organization(user, project):
    return bool(project is not None and user.is_authenticated and project.organization.has_permission(user))
