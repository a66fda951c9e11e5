"""Typed, validated configuration objects built from YAML.

The one place in rs3l where plain mappings become typed objects. It lives in
``sim_pairs``, the start of the one-way flow sim_pairs -> graphs -> rs3l, so that every
package can use it without importing a later one. Every section of a
config file is a ``dataclass`` (defined next to the code it configures); this module
walks the dataclass fields and the mapping together and refuses anything it does not
recognise: an unknown or misspelled key is an error naming the key, the file and the
valid keys; a value of the wrong type names the field and the expected type.

Dataclasses may validate their own values in ``__post_init__`` by raising
``ValueError``; the message is re-raised with the file and field path in front.

This module imports nothing heavy (no torch, no pythia) so every package may use it.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any, Literal, Mapping, TypeVar, Union

import yaml

__all__ = ["ConfigError", "from_mapping", "load_yaml", "to_mapping"]

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration file or mapping that does not match its typed schema."""


def load_yaml(path: str | Path) -> Any:
    """Read a YAML file, turning syntax errors into a ConfigError naming the file."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory, expected a YAML config file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read ({err.strerror or err})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line}: byte {data[err.start:err.start + 1]!r} is not UTF-8 text; "
                          "expected a UTF-8 YAML file") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _fail(source: str, where: str, message: str) -> typing.NoReturn:
    raise ConfigError(f"{source}: {where or '<top>'}: {message}")


def _convert(tp: Any, value: Any, source: str, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)

    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, source, where)
            except ConfigError as err:
                errors.append(str(err))
        _fail(source, where, f"expected {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        if value in args:
            return value
        _fail(source, where, f"expected one of {list(args)}, got {value!r}")
    if dataclasses.is_dataclass(tp):
        return from_mapping(tp, value, source=source, where=where)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            _fail(source, where, f"expected a list of {_type_name(args[0]) if args else 'values'}, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                _fail(source, where, f"expected {len(args)} values, got {len(value)}")
            return tuple(_convert(a, v, source, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        item = args[0] if args else Any
        items = [_convert(item, v, source, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            _fail(source, where, f"expected a mapping, got {value!r}")
        key_tp, val_tp = args if args else (Any, Any)
        return {
            _convert(key_tp, k, source, f"{where}.{k}"): _convert(val_tp, v, source, f"{where}.{k}")
            for k, v in value.items()
        }
    if tp is bool:
        if isinstance(value, bool):
            return value
        _fail(source, where, f"expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        _fail(source, where, f"expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML reads 1e-3 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        _fail(source, where, f"expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        _fail(source, where, f"expected a string, got {value!r}")
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    _fail(source, where, f"expected {_type_name(tp)}, got {value!r}")


def from_mapping(cls: type[T], data: Mapping[str, Any] | None, *, source: str = "<config>", where: str = "") -> T:
    """Build the dataclass ``cls`` from ``data``, recursively and strictly.

    Args:
        cls: a dataclass type; fields without defaults are required keys.
        data: the mapping read from YAML (``None`` means empty).
        source: the file name used in error messages.
        where: the dotted path of this mapping inside the file, for error messages.

    Raises:
        ConfigError: an unknown key (with the valid keys and the nearest match), a
            missing required key, a value of the wrong type, or a value the
            dataclass's own ``__post_init__`` rejects.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        _fail(source, where, f"expected a mapping for {cls.__name__}, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            near = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            path = f"{where}.{key}" if where else str(key)
            raise ConfigError(
                f"{source}: unknown key '{path}'{hint}; valid keys under "
                f"'{where or '<top>'}' are: {', '.join(sorted(fields))}"
            )
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, field in fields.items():
        path = f"{where}.{name}" if where else name
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], source, path)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            _fail(source, path, f"required key missing for {cls.__name__}")
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (ValueError, TypeError) as err:
        _fail(source, where, str(err))


def to_mapping(obj: Any) -> Any:
    """The inverse of :func:`from_mapping`: plain dicts and lists, ready for YAML/JSON."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_mapping(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
    if isinstance(obj, Mapping):
        return {k: to_mapping(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_mapping(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj
