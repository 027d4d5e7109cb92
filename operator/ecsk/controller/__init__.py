"""The thin I/O layer: kopf handlers, server-side apply with one field manager, status, Events."""
