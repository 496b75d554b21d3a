"""The simulated venue: matching engine, fill and commission models, and the broker port."""

from adapters.simulated.broker import SimulatedBroker, SimulatedBrokerConfig, build_simulated_broker
from adapters.simulated.fees import CommissionModel, MakerTaker, NoCommission, PerNotional, PerShare
from adapters.simulated.fill_model import FillModel, MarketFill
from adapters.simulated.journal import VenueJournal
from adapters.simulated.matching import MatchingEngine, VenueRecorder

__all__ = [
    "CommissionModel",
    "FillModel",
    "MakerTaker",
    "MarketFill",
    "MatchingEngine",
    "NoCommission",
    "PerNotional",
    "PerShare",
    "SimulatedBroker",
    "SimulatedBrokerConfig",
    "VenueJournal",
    "VenueRecorder",
    "build_simulated_broker",
]
