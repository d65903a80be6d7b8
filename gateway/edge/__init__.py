"""The edge: the ASGI app, its middleware, and answering over ASGI (legacy bytes, errors, media).
May import everything below it: service, hooks, migration, lists, upstream, dialect and the bottom layer."""
