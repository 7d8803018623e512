"""``{% ls_aperturedb_scripts %}``: the script tag that adds ApertureDB to Label Studio's storage wizard."""
from django import template
from django.conf import settings
from django.utils.html import format_html

from ls_aperturedb import frontend

register = template.Library()


@register.simple_tag
def ls_aperturedb_scripts():
    hostname = (getattr(settings, "HOSTNAME", "") or "").rstrip("/")
    return format_html('<script src="{}/{}{}?v={}" data-ls-aperturedb="provider"></script>',
                       hostname, frontend.STATIC_URL, frontend.PROVIDER_SCRIPT, frontend.version())
