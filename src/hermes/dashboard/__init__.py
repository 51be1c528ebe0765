"""`hermes dashboard`: the operator's web page, a process of its own beside the gateway.

Pages are rendered by the server (Jinja2 templates shipped in this package) with a little static JS and CSS
of our own: nothing to build on the host, nothing fetched from a CDN, no inline script (the CSP forbids it).
It reads HERMES_HOME and state.db directly and asks a running gateway for live state and for chat turns
through the gateway's control socket, so it works whether the gateway runs or not.
"""
