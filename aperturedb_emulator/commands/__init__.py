"""Registry of supported commands; anything else fails loudly by name."""
from . import blobs, connections, descriptors, entities, frames, images, regions, status, videos

COMMANDS = {}
for _module in (status, images, regions, blobs, entities, connections, descriptors, videos, frames):
    COMMANDS.update(_module.COMMANDS)
