"""The property map (楼盘表): a building's floors × homes as a grid, coloured by one attribute.

Layers are pluggable: each app registers a function that, given a building's homes, returns a value
per home id and a legend. The register app ships ``occupancy``; billing, work orders and alarms add
theirs (arrears, open orders, active alarms) with :func:`register_layer` in their ``AppConfig.ready``.
Every layer answers with one query over the building, never one per home.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from anju.estates.models import Building, Home


@dataclass(frozen=True)
class LegendItem:
    value: str
    label: str | Promise
    colour: str  # a CSS colour with enough contrast for black text


@dataclass(frozen=True)
class Layer:
    name: str
    label: str | Promise
    legend: Sequence[LegendItem]
    values: Callable[[Building, list[Home]], dict[int, str]]


@dataclass
class Cell:
    home_id: int
    number: str
    unit: str
    floor_area: str
    value: str
    colour: str


@dataclass
class Row:
    floor: int
    cells: list[Cell] = field(default_factory=list)


@dataclass
class PropertyMap:
    building: Building
    layer: Layer
    units: list[str]
    rows: list[Row]
    counts: dict[str, int]


_LAYERS: dict[str, Layer] = {}


def register_layer(layer: Layer) -> None:
    _LAYERS[layer.name] = layer


def layers() -> list[Layer]:
    return list(_LAYERS.values())


def get_layer(name: str) -> Layer | None:
    return _LAYERS.get(name)


def build_property_map(building: Building, layer_name: str = "occupancy") -> PropertyMap:
    """Rows from the top floor down (as the building stands), homes left to right by unit and number.

    Must run inside a community scope that includes ``building.community_id``.
    """
    layer = _LAYERS.get(layer_name) or _LAYERS["occupancy"]
    homes = list(
        Home.objects.filter(building=building).select_related("unit").order_by("-floor", "unit__number", "number")
    )
    values = layer.values(building, homes)
    colours = {item.value: item.colour for item in layer.legend}
    rows: dict[int, Row] = {}
    counts: dict[str, int] = {item.value: 0 for item in layer.legend}
    units: list[str] = []
    for home in homes:
        unit_number = home.unit.number if home.unit else ""
        if unit_number not in units:
            units.append(unit_number)
        value = values.get(home.pk, "")
        counts[value] = counts.get(value, 0) + 1
        rows.setdefault(home.floor, Row(floor=home.floor)).cells.append(
            Cell(home.pk, home.number, unit_number, f"{home.floor_area}", value, colours.get(value, "#eeeeee"))
        )
    return PropertyMap(building=building, layer=layer, units=sorted(units), rows=list(rows.values()), counts=counts)


def _occupancy_values(building: Building, homes: list[Home]) -> dict[int, str]:
    from anju.residents.models import Occupancy

    roles: dict[int, set[str]] = {}
    for home_id, role in Occupancy.objects.current().filter(home__building=building).values_list("home_id", "role"):
        roles.setdefault(home_id, set()).add(role)
    result: dict[int, str] = {}
    for home in homes:
        present = roles.get(home.pk, set())
        if home.status == Home.Status.UNSOLD:
            result[home.pk] = "unsold"
        elif Occupancy.Role.TENANT in present:
            result[home.pk] = "rented"
        elif Occupancy.Role.FAMILY in present or home.status == Home.Status.OCCUPIED:
            result[home.pk] = "occupied"
        elif present:
            result[home.pk] = "owned_not_moved_in" if home.status == Home.Status.DELIVERED else "vacant"
        else:
            result[home.pk] = "no_owner_recorded"
    return result


register_layer(
    Layer(
        name="occupancy",
        label=_("Occupancy"),
        legend=(
            LegendItem("occupied", _("Lived in by owner"), "#8fd19e"),
            LegendItem("rented", _("Rented out"), "#9ec5fe"),
            LegendItem("owned_not_moved_in", _("Delivered, not moved in"), "#ffe69c"),
            LegendItem("vacant", _("Vacant"), "#f1aeb5"),
            LegendItem("unsold", _("Unsold (developer)"), "#ced4da"),
            LegendItem("no_owner_recorded", _("No owner recorded"), "#ffffff"),
        ),
        values=_occupancy_values,
    )
)
