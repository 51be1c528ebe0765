"""Configuration: HERMES_HOME paths, the layered loader and the typed settings."""

from hermes.config.errors import ConfigError
from hermes.config.loader import LoadedConfig, load_config
from hermes.config.paths import HermesPaths
from hermes.config.settings import Settings

__all__ = ["ConfigError", "HermesPaths", "LoadedConfig", "Settings", "load_config"]
