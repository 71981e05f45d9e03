"""CloudFormation templates as data: short-form intrinsic tags (`!Ref`, `!Sub`, ...) included.

Shared by the local flow and the template tests, so both read the templates the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml

TEMPLATES: Final = Path(__file__).resolve().parent.parent / "cf_templates"


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no type hints
    """SafeLoader that turns `!Ref x` into {"Ref": x} and `!Sub s` into {"Fn::Sub": s}."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(name: str, directory: Path = TEMPLATES) -> dict[str, Any]:
    """A template of cf_templates/ (or of a copy of it) as plain data (intrinsic functions in their long form)."""
    return yaml.load((directory / name).read_text(encoding="utf-8"), Loader=_CfnLoader)  # type: ignore[no-any-return]


def template_for_moto(template: Mapping[str, Any]) -> dict[str, Any]:
    """A copy moto's CloudFormation accepts: it resolves SSM-typed defaults before the values
    passed in, and the public AMI parameters do not exist there."""
    copy: dict[str, Any] = json.loads(json.dumps(template))
    for parameter in copy["Parameters"].values():
        if parameter["Type"].startswith("AWS::SSM::Parameter::"):
            parameter.pop("Default", None)
    return copy
