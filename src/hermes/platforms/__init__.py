"""Chat platforms. Each is one package here that registers itself with `platforms.base.register`."""
