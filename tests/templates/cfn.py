"""Template helpers for the tests; the loader itself is shared with the local flow."""

from __future__ import annotations

from typing import Any

from local_flow.templates import TEMPLATES, load_template, template_for_moto

__all__ = ["TEMPLATES", "load_template", "resources_of_type", "template_for_moto"]


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, for one resource type."""
    return {name: res for name, res in template["Resources"].items() if res["Type"] == resource_type}
