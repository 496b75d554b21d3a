"""The venue's products (instruments), fetched once each and cached for the session."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from decimal import Decimal

import attrs

from adapters.coinbase.http import VENUE, CoinbaseRest, VenueHttpError
from adapters.coinbase.mapping import dec, items, product_id, text
from domain.errors import ConfigurationError


@attrs.frozen(kw_only=True)
class Product:
    product_id: str
    base_currency: str
    quote_currency: str
    base_increment: Decimal
    quote_increment: Decimal
    base_min_size: Decimal
    tradable: bool
    quote_min_size: Decimal = Decimal(0)  # the smallest order value (base size x price) the venue takes
    base_max_size: Decimal | None = None
    quote_max_size: Decimal | None = None
    product_type: str  # SPOT or FUTURE
    perpetual: bool
    funding_rate: Decimal | None
    funding_time: str | None
    price: Decimal | None


def parse_product(row: Mapping, *, what: str) -> Product:
    pid = text(row, "product_id", what=what)
    details = row.get("future_product_details") or {}
    perpetual = (str(row.get("product_type", "")).upper() == "FUTURE"
                 and isinstance(details, Mapping)
                 and str(details.get("contract_expiry_type", "")).upper() == "PERPETUAL")
    funding_rate = funding_time = None
    if perpetual:
        perp = details.get("perpetual_details") or {}
        funding_rate = dec(perp, "funding_rate", what=f"{what} {pid} perpetual_details")
        funding_time = perp.get("funding_time") if isinstance(perp.get("funding_time"), str) else None
    base, _, quote = pid.partition("-")
    return Product(
        product_id=pid,
        base_currency=str(row.get("base_currency_id") or base),
        quote_currency=str(row.get("quote_currency_id") or quote),
        base_increment=dec(row, "base_increment", what=f"{what} {pid}"),
        quote_increment=dec(row, "quote_increment", what=f"{what} {pid}"),
        base_min_size=dec(row, "base_min_size", what=f"{what} {pid}", default=Decimal(0)),
        quote_min_size=dec(row, "quote_min_size", what=f"{what} {pid}", default=Decimal(0)),
        base_max_size=_positive_or_none(row, "base_max_size", what=f"{what} {pid}"),
        quote_max_size=_positive_or_none(row, "quote_max_size", what=f"{what} {pid}"),
        tradable=(str(row.get("status", "online")).lower() == "online" and not row.get("trading_disabled", False)
                  and not row.get("is_disabled", False)),
        product_type=str(row.get("product_type", "SPOT")).upper(),
        perpetual=perpetual,
        funding_rate=funding_rate,
        funding_time=funding_time,
        price=dec(row, "price", what=f"{what} {pid}") if row.get("price") not in (None, "") else None,
    )


def _positive_or_none(row: Mapping, name: str, *, what: str) -> Decimal | None:
    """A maximum; absent, empty or zero means the venue sets none."""
    value = dec(row, name, what=what, default=Decimal(0))
    return value if value > 0 else None


class ProductCatalog:
    def __init__(self, *, rest: CoinbaseRest) -> None:
        self._rest = rest
        self._cache: dict[str, Product] = {}
        self._lock = threading.Lock()

    def get(self, symbol: str, *, fresh: bool = False) -> Product:
        """The product of a symbol ("BTC-USD" or "BTC/USD"). ConfigurationError when the venue
        does not list it."""
        pid = product_id(symbol)
        with self._lock:
            cached = self._cache.get(pid)
        if cached is not None and not fresh:
            return cached
        what = f"get product {pid}"
        try:
            row = self._rest.read(what, lambda c: c.get_product(pid))
        except VenueHttpError as error:
            if error.status in (400, 404):
                raise ConfigurationError(f"{VENUE}: the venue does not list product {pid!r} (symbol {symbol!r})") from None
            raise
        product = parse_product(row, what=what)
        with self._lock:
            self._cache[pid] = product
        return product

    def perpetuals(self) -> list[Product]:
        """The venue's perpetual futures (an empty list where the account has none)."""
        what = "list perpetual products"
        body = self._rest.read(what, lambda c: c.get_products(product_type="FUTURE", contract_expiry_type="PERPETUAL"))
        return [p for p in (parse_product(row, what=what) for row in items(body, "products", what=what)) if p.perpetual]

    def all(self) -> list[Product]:
        what = "list products"
        body = self._rest.read(what, lambda c: c.get_products())
        return [parse_product(row, what=what) for row in items(body, "products", what=what)]
