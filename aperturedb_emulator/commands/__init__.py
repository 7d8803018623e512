"""Registry of supported commands; anything else fails loudly by name."""
from . import blobs, connections, descriptors, entities, images, regions, status

COMMANDS = {}
for _module in (status, images, regions, blobs, entities, connections, descriptors):
    COMMANDS.update(_module.COMMANDS)
