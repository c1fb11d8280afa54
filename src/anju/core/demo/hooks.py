"""Demo steps of the later apps: each app seeds its own part of the demo.

An app decorates a function in its ``demo.py`` with ``@demo_step(order=n)``; after the register,
residents and staff are seeded, :func:`run_demo_steps` calls the steps in order, each in its own
transaction inside the scope of every demo community.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from anju.core.models import User
from anju.core.tenancy import community_scope
from anju.estates.models import Community


@dataclass
class DemoContext:
    size: str
    communities: dict[str, Community]  # by demo code: "walkup", "highrise", "new"
    staff: dict[str, User]  # by username: admin, manager, steward, technician, guard, finance, ...
    rng: random.Random
    out: Callable[[str], None]
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoStep:
    order: int
    name: str
    function: Callable[[DemoContext], None]


STEPS: list[DemoStep] = []


def demo_step(*, order: int) -> Callable[[Callable[[DemoContext], None]], Callable[[DemoContext], None]]:
    def register(function: Callable[[DemoContext], None]) -> Callable[[DemoContext], None]:
        name = f"{function.__module__}.{function.__qualname__}"
        if all(step.name != name for step in STEPS):
            STEPS.append(DemoStep(order, name, function))
        return function

    return register


def run_demo_steps(ctx: DemoContext) -> None:
    ids = [community.pk for community in ctx.communities.values()]
    for step in sorted(STEPS, key=lambda s: (s.order, s.name)):
        started = time.monotonic()
        with transaction.atomic(), community_scope(ids):
            step.function(ctx)
        ctx.out(f"{step.name}: {time.monotonic() - started:.1f} s")
