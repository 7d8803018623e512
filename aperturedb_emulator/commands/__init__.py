"""Registry of supported commands; anything else fails loudly by name."""
from . import blobs, connections, entities, images, regions, status

COMMANDS = {}
for _module in (status, images, regions, blobs, entities, connections):
    COMMANDS.update(_module.COMMANDS)
