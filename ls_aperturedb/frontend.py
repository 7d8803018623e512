"""Where the plugin's frontend lives: its static files, their URL, and the script Label Studio's pages load.

Label Studio serves ``/static/`` from its own build only, so the plugin mounts its own static route
(``urls.py``) and shadows ``base.html`` (``templates/base.html``) to add one script tag to every page.
"""
import os
from importlib import metadata

STATIC_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
STATIC_URL = "ls-aperturedb/static/"
PROVIDER_SCRIPT = "ls_aperturedb/storage-provider.js"
# Loaded in this order, before Label Studio's bundle: the hook, the field table, the widgets, the steps.
SCRIPTS = (("hook", "ls_aperturedb/provider-hook.js"), ("provider", PROVIDER_SCRIPT),
           ("widgets", "ls_aperturedb/provider-widgets.js"), ("steps", "ls_aperturedb/provider-steps.js"))


def version():
    """The installed plugin version (cache buster for the script URL)."""
    try:
        return metadata.version("ls-aperturedb")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "dev"
