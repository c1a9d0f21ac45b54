"""The audience simulator: seeded, closed-loop platform stream entries with ground truth.

Used to test and score the engine without a live platform: `AudienceSimulator` yields the
entries one session's audience would write, reacts to interventions through `receive`, and
labels the anomaly episodes it contains; `simulate_file` writes a whole session as a replay
file.
"""

from conductor.sim.audience import MAX_ATTENDEES, MIN_ATTENDEES, AudienceSimulator
from conductor.sim.delivery import Imperfections
from conductor.sim.effects import EFFECTS, TIMINGS
from conductor.sim.files import labels_path, simulate_file
from conductor.sim.scenarios import SCENARIOS, Condition

__all__ = [
    "EFFECTS",
    "MAX_ATTENDEES",
    "MIN_ATTENDEES",
    "SCENARIOS",
    "TIMINGS",
    "AudienceSimulator",
    "Condition",
    "Imperfections",
    "labels_path",
    "simulate_file",
]
