"""The operator's door to the API server, shared by every concept: the client (server-side apply,
status, Events), the write-nothing diff, and the watch-fed caches of children and nodes."""
