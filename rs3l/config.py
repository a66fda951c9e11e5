"""The whole rs3l configuration: one YAML file, one typed object per section.

A run config has the sections ``generation`` (sim_pairs.config.GenerationConfig),
``data`` (graphs.contract.DataContract), ``model`` (rs3l.models.config.BackboneConfig),
``pretrain`` (rs3l.train.config.PretrainConfig) and ``evaluate``
(rs3l.evaluation.config.EvaluateConfig). A section may be written inline or as the
path of another YAML file holding it (relative to the file that names it), so the
published settings in ``configs/`` are composed from shared presets::

    model: model/rs3l.yaml

Unknown sections and keys are errors naming the key, the file and the valid keys.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim_pairs.typed_config import ConfigError, from_mapping, load_yaml, to_mapping

from sim_pairs.config import GenerationConfig
from sim_pairs.shipped_configs import CONFIG_DIR
from graphs.contract import DataContract
from rs3l.models.config import BackboneConfig
from rs3l.train.config import PretrainConfig
from rs3l.evaluation.config import EvaluateConfig

__all__ = ["RunConfig", "load_config", "DEFAULT_CONFIG", "ConfigError"]

#: The embedded default config: what `rs3l run` uses without --config.
DEFAULT_CONFIG = CONFIG_DIR / "quickstart.yaml"


@dataclass
class RunConfig:
    """All sections of an rs3l config; every section has defaults.

    ``base_dir`` is the directory of the config file: relative paths inside it
    (LHE, HepMC and card files) are resolved against it.
    """

    generation: GenerationConfig = field(default_factory=GenerationConfig)
    data: DataContract = field(default_factory=DataContract)
    model: BackboneConfig = field(default_factory=BackboneConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    base_dir: str = "."

    def to_dict(self) -> dict[str, Any]:
        return to_mapping(self)


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read a run config from YAML.

    Args:
        path: the YAML file (the embedded quickstart when None).
        overrides: section -> mapping merged over the file (shallow, per key).

    Raises:
        ConfigError: naming the file (the included one, for an included section),
            the key and what was expected.
    """
    path = Path(path) if path is not None else DEFAULT_CONFIG
    raw = load_yaml(path)
    if raw is None or raw == {}:
        # an empty file would silently run the library defaults, which are neither the
        # quickstart nor anything the user wrote
        raise ConfigError(f"{path}: the config is empty; expected sections such as generation, data, model, "
                          f"pretrain, evaluate (omit --config for the quickstart, {DEFAULT_CONFIG.name})")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections, got {type(raw).__name__}")
    section_types = typing.get_type_hints(RunConfig)
    included = {}
    for key, value in list(raw.items()):
        if key in section_types and isinstance(value, str) and value.endswith((".yaml", ".yml")):
            source = (path.parent / value).resolve()
            body = load_yaml(source)
            if body is None:
                body = {}
            if not isinstance(body, dict):
                raise ConfigError(f"{source}: section '{key}' (included from {path}) must be a mapping of keys, "
                                  f"got {type(body).__name__}")
            body = {**body, **(overrides or {}).get(key, {})}
            included[key] = from_mapping(section_types[key], body, source=str(source), where=key)
            del raw[key]
    for section, values in (overrides or {}).items():
        if section not in included:
            raw[section] = {**(raw.get(section) or {}), **values}
    raw["base_dir"] = str(path.resolve().parent)
    return dataclasses.replace(from_mapping(RunConfig, raw, source=str(path)), **included)
