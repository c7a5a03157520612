"""Methods as params.yaml declares them, parsed once into a :class:`MethodSpec`.

A ``methods`` entry names its ``type`` (a fusion estimator of :data:`REGISTRY`), its
``modalities``, its ``learner`` (one name for every unit, or one per modality) and the type's
own settings; params.yaml ``learners`` gives each learner's untuned ``settings`` and its
``search`` space. :func:`parse_method` reads both once, checks them, and returns everything the
rest of the package asks of a method: the estimator class, the learner of each unit, the search
space and the untuned values of the tuning (musicfusion.models.tuning), and how to build the
estimator for one configuration. Training, tuning and the sweeps read the spec; none of them
interprets a ``methods`` entry again.

The search space of a method is its learners' ``search`` entries, keyed ``<unit>.<setting>``
(unit: a modality, or ``joint`` for methods with one learner on the joined modalities). A list
is a set of choices; a dict ``{low, high}`` a range (``log: true`` for a log scale; integer
bounds draw integers).

Adding a method: one estimator class in musicfusion.models.fusion, one line in REGISTRY, one
entry in params.yaml (the schema test keeps REGISTRY and the schema's ``type`` enum in step).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from musicfusion.models.fusion import (
    JOINT,
    EarlyFusion,
    LateFusion,
    MultiTaskFusion,
    ShortcutControl,
    SingleModality,
    Stacking,
)
from musicfusion.models.learners import check_spec

REGISTRY: dict[str, type] = {
    "single_modality": SingleModality,
    "control": ShortcutControl,
    "early_fusion": EarlyFusion,
    "late_fusion": LateFusion,
    "stacking": Stacking,
    "multitask": MultiTaskFusion,
}


def estimator_class(method_params: Mapping) -> type:
    kind = method_params.get("type")
    if kind not in REGISTRY:
        raise ValueError(f"unknown fusion method type {kind!r}; known: {sorted(REGISTRY)}")
    return REGISTRY[kind]


def feature_kind_of(method_params: Mapping) -> str:
    """Which features a ``methods`` entry reads: its modalities' own, or their shortcut controls."""
    return estimator_class(method_params).feature_kind


def is_control(method_params: Mapping) -> bool:
    return feature_kind_of(method_params) == "control"


def learner_units(method_params: Mapping) -> list[str]:
    """Where a ``methods`` entry fits learners: each of its modalities, or ``joint``."""
    joint = estimator_class(method_params).joint
    return [JOINT] if joint else list(method_params.get("modalities") or [])


def learner_names(method_params: Mapping) -> dict[str, str]:
    """The learner name per unit of a ``methods`` entry: ``learner`` is one name for every unit,
    or a dict naming one per modality."""
    choice, units = method_params.get("learner"), learner_units(method_params)
    if isinstance(choice, str):
        return {unit: choice for unit in units}
    if isinstance(choice, Mapping) and sorted(choice) == sorted(units):
        return {unit: choice[unit] for unit in units}
    raise ValueError(f"method of type {method_params.get('type')!r}: `learner` must be a learner name or one "
                     f"per {units}, got {choice!r}")


def _untuned_value(learner: str, settings: Mapping, setting: str, domain) -> Any:
    """A searched setting's untuned value, checked to lie in its domain."""
    if setting not in settings:
        raise ValueError(f"learner {learner!r}: searched setting {setting!r} has no untuned value in `settings`")
    value = settings[setting]
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    inside = value in domain if isinstance(domain, list) else numeric and domain["low"] <= value <= domain["high"]
    if not inside:
        raise ValueError(f"learner {learner!r}: untuned {setting}={value!r} lies outside its search domain {domain}")
    return value


@dataclass(frozen=True)
class MethodSpec:
    """One ``methods`` entry with its learners resolved (see the module docstring)."""

    kind: str
    modalities: tuple[str, ...]
    learners: dict[str, str]  # unit -> learner name
    learner_settings: dict[str, dict]  # unit -> the learner's untuned settings
    space: dict[str, Any]  # "<unit>.<setting>" -> choices (list) or range (dict)
    untuned: dict[str, Any]  # "<unit>.<setting>" -> the untuned value
    settings: dict  # the estimator's own settings (block_scaling, weight_step, ...)

    @property
    def estimator(self) -> type:
        return REGISTRY[self.kind]

    @property
    def multitask(self) -> bool:
        return self.estimator.multitask

    @property
    def feature_kind(self) -> str:
        return self.estimator.feature_kind

    def learner_specs(self, values: Mapping | None = None) -> dict[str, dict]:
        """Each unit's learner spec (musicfusion.models.learners): its untuned settings with
        ``values`` ("<unit>.<setting>": value, as a tuning trial draws them) applied over them."""
        specs = {unit: {"name": name, **copy.deepcopy(self.learner_settings[unit])}
                 for unit, name in self.learners.items()}
        for key, value in (values or {}).items():
            # The unit may itself hold a dot (a feature set such as audio.pitch_cnn); settings do not.
            unit, _, setting = key.rpartition(".")
            if unit not in specs or not setting:
                raise ValueError(f"setting {key!r} names no learner of this method ({sorted(specs)})")
            specs[unit][setting] = value
        return specs

    def build(self, seed: int, values: Mapping | None = None, fixed: Mapping | None = None):
        """The unfitted estimator seeded with ``seed``: ``values`` are tuned learner settings,
        ``fixed`` method settings chosen earlier on validation data (``validation_choices`` of a
        fitted method)."""
        return self.estimator(**self.settings, **dict(fixed or {}), learners=self.learner_specs(values),
                              random_state=seed)


def parse_method(method_params: Mapping, learners_config: Mapping) -> MethodSpec:
    """The :class:`MethodSpec` of one ``methods`` entry, its learners from params.yaml ``learners``."""
    cls = estimator_class(method_params)
    names = learner_names(method_params)
    settings, space, untuned = {}, {}, {}
    for unit, name in names.items():
        if name not in learners_config:
            raise ValueError(f"learner {name!r} is not configured; params.yaml `learners` has {sorted(learners_config)}")
        entry = learners_config[name]
        settings[unit] = copy.deepcopy(entry.get("settings") or {})
        check_spec({"name": name, **settings[unit]})
        for setting, domain in (entry.get("search") or {}).items():
            space[f"{unit}.{setting}"] = domain
            untuned[f"{unit}.{setting}"] = _untuned_value(name, settings[unit], setting, domain)
    own = {k: v for k, v in method_params.items() if k not in ("type", "learner")}
    allowed = set(inspect.signature(cls.__init__).parameters) - {"self", "random_state", "learners"}
    unknown = sorted(set(own) - allowed)
    if unknown:
        raise ValueError(f"fusion method type {method_params['type']!r}: unknown setting(s) {unknown}; "
                         f"allowed: {sorted(allowed | {'learner'})} (the seed comes from params.yaml `seed`)")
    return MethodSpec(method_params["type"], tuple(method_params.get("modalities") or ()), names, settings, space,
                      untuned, own)


def build_method(method_params: Mapping, seed: int, learners_config: Mapping, values: Mapping | None = None,
                 fixed: Mapping | None = None):
    """The unfitted estimator of one ``methods`` entry for one configuration (see MethodSpec.build)."""
    return parse_method(method_params, learners_config).build(seed, values, fixed)

