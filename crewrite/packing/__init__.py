"""Offset planning: place workspace buffers with known lifetimes in one arena.

`plan()` runs a registered planner (see PLANNERS) and verifies its result independently.
"""

from crewrite.packing import auto, exact, greedy, search  # noqa: F401  (register planners)
from crewrite.packing.bound import lower_bound
from crewrite.packing.io import InstanceError, load_instance
from crewrite.packing.model import Buffer, Plan, Problem
from crewrite.packing.registry import PLANNERS, plan
from crewrite.packing.verify import PlanError, check_plan

__all__ = [
    "PLANNERS",
    "Buffer",
    "InstanceError",
    "Plan",
    "PlanError",
    "Problem",
    "check_plan",
    "load_instance",
    "lower_bound",
    "plan",
]
