"""FundingRates from Coinbase's perpetual futures (product_type FUTURE, contract_expiry_type
PERPETUAL: future_product_details.perpetual_details.funding_rate)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from adapters.coinbase.http import VENUE
from adapters.coinbase.mapping import product_id, ts
from adapters.coinbase.products import ProductCatalog
from application.ports import Clock
from application.venues.ports import FundingRate, FundingUnsupported


class CoinbaseFunding:
    def __init__(self, *, products: ProductCatalog, clock: Clock, interval: timedelta = timedelta(hours=1)) -> None:
        self._products = products
        self._clock = clock
        self._interval = interval

    def funding_rates(self, symbols: Sequence[str]) -> list[FundingRate]:
        perpetuals = self._products.perpetuals()
        if not perpetuals:
            raise FundingUnsupported(f"{VENUE}: this account lists no perpetual futures, so there is no funding rate")
        rates: list[FundingRate] = []
        for symbol in symbols:
            pid = product_id(symbol)
            base = pid.split("-")[0]
            match = next((p for p in perpetuals if p.product_id == pid), None) or next(
                (p for p in perpetuals if p.base_currency.upper() == base), None)
            if match is None or match.funding_rate is None:
                continue
            at = (ts({"t": match.funding_time}, "t", what=f"funding time {match.product_id}")
                  if match.funding_time else self._clock.now())
            rates.append(FundingRate(symbol=symbol, rate=match.funding_rate, ts=at, interval=self._interval))
        if symbols and not rates:
            raise FundingUnsupported(f"{VENUE}: no perpetual future for {', '.join(symbols)}")
        return rates
