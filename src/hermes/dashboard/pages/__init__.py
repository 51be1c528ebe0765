"""One module per page; each exposes `routes(router)`."""
