"""Import the modules through which an app registers itself: periodic jobs (``tasks``), demo steps
(``demo``) and navigation links (``navigation``). Called from each app's ``AppConfig.ready``."""

from __future__ import annotations

import importlib
import importlib.util

SELF_REGISTERING_MODULES = ("tasks", "demo", "navigation")


def import_app_modules(app_module: str) -> None:
    for name in SELF_REGISTERING_MODULES:
        dotted = f"{app_module}.{name}"
        if importlib.util.find_spec(dotted) is not None:
            importlib.import_module(dotted)
