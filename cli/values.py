"""Command-line values converted without typer's pydantic layer, which cost every command ~0.08 s.

Typer 0.29 converts each parameter's text through a pydantic ``TypeAdapter``: importing
pydantic and building one adapter per parameter took about a tenth of ``lkvault list``, whose
own work is a key derivation and a few small files. lkvault's parameters are text, numbers
(some with a lower bound), paths and lists of text: this module converts those itself, with
typer's words for a bad value, and leaves any other parameter to typer. A typer without that
layer (no per-parameter converter to replace) is left as it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

import typer

CommandT = TypeVar("CommandT")
Convert = Callable[[Any, Any, Any], Any]  # (value, param, ctx) -> the converted value


def plain_values(command: CommandT) -> CommandT:
    """Give every parameter of ``command`` (and of its subcommands) that this module can
    convert a converter that needs no pydantic; the others keep typer's."""
    for param in getattr(command, "params", []):
        _convert_plainly(param)
    make_help_option = getattr(command, "get_help_option", None)
    if make_help_option is not None:  # -h/--help is made when a command line is parsed

        def help_option(ctx: Any) -> Any:
            option = make_help_option(ctx)
            if option is not None:
                _convert_plainly(option)
            return option

        vars(command)["get_help_option"] = help_option
    for sub in getattr(command, "commands", {}).values():
        plain_values(sub)
    return command


def _convert_plainly(param: Any) -> None:
    if getattr(param, "_runtime_param", 0) is None and hasattr(param, "type_descriptor"):
        converter = _converter_for(param.type_descriptor)
        if converter is not None:
            param._runtime_param = converter


@dataclass(frozen=True)
class PlainValue:
    """One parameter's conversion, as typer's own runtime parameter does it (``coerce``)."""

    convert: Convert

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        many = bool(param.multiple) or param.nargs == -1
        if value is None:
            return () if many else None
        if many and isinstance(value, str):
            raise typer.BadParameter("Value must be an iterable.", ctx=ctx, param=param)
        try:
            return self.convert(value, param, ctx)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), ctx=ctx, param=param) from None


def _converter_for(descriptor: Any) -> PlainValue | None:
    info = getattr(descriptor, "parameter_info", None)
    annotation = getattr(descriptor, "annotation", None)
    if info is None or getattr(descriptor, "file_annotation", None) is not None:
        return None
    if getattr(info, "parser", None) is not None or getattr(info, "click_type", None):
        return None
    if annotation is str:
        return PlainValue(_text)
    if annotation is bool:  # a flag's value is a bool already; typer's own options may be None
        return PlainValue(_truth)
    if annotation in (int, float):
        if getattr(info, "clamp", False) or getattr(info, "max", None) is not None:
            return None
        return PlainValue(_number(annotation, getattr(info, "min", None)))
    if isinstance(annotation, type) and issubclass(annotation, Path):
        check = _typer_path_check()
        return None if check is None else PlainValue(_path(check, annotation, info))
    if get_origin(annotation) is list and get_args(annotation) == (str,):
        return PlainValue(_texts)
    return None


def _text(value: Any, param: Any = None, ctx: Any = None) -> str:
    return value if isinstance(value, str) else str(value)


TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
FALSE = frozenset({"", "0", "off", "f", "false", "n", "no"})


def _truth(value: Any, param: Any, ctx: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE or word in FALSE:
        return word in TRUE
    raise ValueError("Input should be a valid boolean, unable to interpret input")


def _texts(value: Any, param: Any, ctx: Any) -> list[str]:
    items = value if isinstance(value, list | tuple) else [value]
    return [_text(item) for item in items]


def _number(kind: type[int] | type[float], least: float | None) -> Convert:
    """int or float from text, at least ``least``; in typer's (pydantic's) words when not."""
    word = "integer" if kind is int else "number"

    def number(value: Any, param: Any, ctx: Any) -> int | float:
        if isinstance(value, kind) and not isinstance(value, bool):
            found: int | float = value
        else:
            try:
                found = kind(str(value).strip())
            except ValueError:
                article = "an" if kind is int else "a"
                raise ValueError(
                    f"Input should be a valid {word}, unable to parse string as {article} {word}"
                ) from None
        if not math.isfinite(found):
            raise ValueError("Input should be a finite number")
        if least is not None and not found >= least:
            raise ValueError(f"Input should be greater than or equal to {least}")
        return found

    return number


def _typer_path_check() -> Callable[..., Any] | None:
    """Typer's checks of a path option (exists, file_okay, readable...), which need no
    pydantic once they are given a Path; None in a typer that has no such function."""
    try:
        from typer._param_types import coerce_cli_path
    except ImportError:
        return None
    return coerce_cli_path


def _path(check: Callable[..., Any], annotation: type[Path], info: Any) -> Convert:
    path_type = getattr(info, "path_type", None) or annotation

    def path(value: Any, param: Any, ctx: Any) -> Any:
        given = path_type(value) if isinstance(value, str) else value
        return check(given, info, path_type=path_type, param=param, ctx=ctx)

    return path
