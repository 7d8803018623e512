"""Registry of supported commands; anything else fails loudly by name."""
from . import connections, entities, images, regions, status

COMMANDS = {}
for _module in (status, images, regions, entities, connections):
    COMMANDS.update(_module.COMMANDS)
