"""``{% ls_aperturedb_scripts %}``: the script tags that add ApertureDB to Label Studio's storage wizard."""
from django import template
from django.conf import settings
from django.utils.html import format_html_join

from ls_aperturedb import frontend

register = template.Library()


@register.simple_tag
def ls_aperturedb_scripts():
    hostname = (getattr(settings, "HOSTNAME", "") or "").rstrip("/")
    return format_html_join("", '<script src="{}/{}{}?v={}" data-ls-aperturedb="{}"></script>',
                            ((hostname, frontend.STATIC_URL, path, frontend.version(), role)
                             for role, path in frontend.SCRIPTS))
