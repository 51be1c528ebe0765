"""Every platform in the tree keeps the platform package contract, and `contract_problems` (offered to
plugin authors in `hermes.testing`) names what a package gets wrong."""

from __future__ import annotations

from typing import Annotated, ClassVar

import pytest
from pydantic import Field

from hermes.config.settings import Env
from hermes.platforms.base import Platform, PlatformSettings, Trouble, registered
from hermes.platforms.wizard import Flag, WizardSection
from hermes.testing import TestPlatform, contract_problems


@pytest.mark.parametrize("name", sorted(registered()))
def test_every_registered_platform_keeps_the_contract(name: str) -> None:
    assert contract_problems(registered()[name]) == []


class HalfSettings(PlatformSettings):
    token: Annotated[str | None, Env("HALF_TOKEN"), Field(description="A token.")] = None
    undocumented: int = 3


class HalfDone(TestPlatform):
    """Forgot @register, its labels, a description, and named its flags after another platform."""

    name: ClassVar[str] = "half_done"
    label: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    settings: ClassVar[type[PlatformSettings] | None] = HalfSettings
    env_prefix: ClassVar[str] = "half_"
    wizard = WizardSection("hint", (Flag("--other-token", "other.token"),), lambda form, current: {})
    troubleshooting: ClassVar[tuple[Trouble, ...]] = (Trouble("", "do something"),)


def test_contract_problems_names_each_mistake() -> None:
    assert contract_problems(HalfDone) == [
        "HalfDone is not registered as 'half_done' (decorate it with @register)",
        "label is empty (docs, the wizard and doctor show it)",
        "summary is empty (docs, the wizard and doctor show it)",
        "env_prefix 'half_' is not like 'NAME_'",
        "setting half_done.undocumented has no description (Field(description=...))",
        "wizard flag --other-token does not start with --half-done-",
        "wizard flag --other-token answers 'other.token', not a key under half_done.",
        "a troubleshooting entry lacks its symptom or remedy: Trouble(symptom='', remedy='do something')",
    ]


def test_an_abstract_platform_is_reported() -> None:
    class Bare(Platform):
        name: ClassVar[str] = "bare"
        max_message_chars = 100
        can_edit = False

    assert "abstract methods not implemented: create, send, start, stop" in contract_problems(Bare)
