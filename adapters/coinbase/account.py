"""VenueAccount for Coinbase: balances, the venue's clock (24/7), products, key permissions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from adapters.coinbase.http import VENUE, CoinbaseRest, MalformedResponse
from adapters.coinbase.mapping import QUOTE_CURRENCIES, dec, field, items, text, ts
from adapters.coinbase.products import ProductCatalog
from application.ports import Clock
from application.venues.ports import AccountSnapshot, MarketClock, TradingDay, VenueInstrument, VenuePermissions
from domain.accounting.instrument import AssetClass
from domain.numbers import ZERO

PAGE = 250


class CoinbaseAccount:
    name = "coinbase"

    def __init__(self, *, rest: CoinbaseRest, products: ProductCatalog, clock: Clock, max_pages: int = 20) -> None:
        self._rest = rest
        self._products = products
        self._clock = clock
        self._max_pages = max_pages

    def balances(self) -> tuple[dict[str, Decimal], dict[str, Decimal], str]:
        """(available per currency, total (available + hold) per currency, portfolio id)."""
        what = "list accounts"
        available: dict[str, Decimal] = {}
        total: dict[str, Decimal] = {}
        portfolio = ""
        cursor: str | None = None
        for _page in range(self._max_pages):
            body = self._rest.read(what, lambda c, cursor=cursor: c.get_accounts(limit=PAGE, cursor=cursor))
            for row in items(body, "accounts", what=what):
                currency = text(row, "currency", what=what).upper()
                free = dec(field(row, "available_balance", what=what), "value", what=f"{what} {currency}")
                hold = dec(row.get("hold") or {}, "value", what=f"{what} {currency}", default=ZERO)
                available[currency] = available.get(currency, ZERO) + free
                total[currency] = total.get(currency, ZERO) + free + hold
                portfolio = portfolio or str(row.get("retail_portfolio_id") or "")
            cursor = body.get("cursor") or None
            if not cursor or not body.get("has_next"):
                break
        return available, total, portfolio

    def account(self) -> AccountSnapshot:
        available, total, portfolio = self.balances()
        holdings = {c: q for c, q in total.items() if c not in QUOTE_CURRENCIES and q != 0}
        prices = self._prices([f"{c}-USD" for c in sorted(holdings)])
        equity = total.get("USD", ZERO) + sum((q * prices[f"{c}-USD"] for c, q in holdings.items()), ZERO)
        cash = available.get("USD", ZERO)
        return AccountSnapshot(venue=VENUE, account_id=portfolio or "default", status="ACTIVE", currency="USD",
                               cash=cash, equity=equity, buying_power=cash, balances=available, ts=self._clock.now())

    def _prices(self, products: list[str]) -> dict[str, Decimal]:
        """Holdings are valued at the best bid (what a sale would get), else the last price."""
        if not products:
            return {}
        what = "best bid/ask"
        body = self._rest.read(what, lambda c: c.get_best_bid_ask(product_ids=products))
        prices: dict[str, Decimal] = {}
        for book in items(body, "pricebooks", what=what):
            pid = text(book, "product_id", what=what)
            bids = items(book, "bids", what=f"{what} {pid}")
            if bids:
                prices[pid] = dec(bids[0], "price", what=f"{what} {pid}")
        for pid in products:
            if pid not in prices:
                price = self._products.get(pid, fresh=True).price
                if price is None:
                    raise MalformedResponse(f"{VENUE}: no bid and no last price for {pid}: cannot value the holding")
                prices[pid] = price
        return prices

    def clock(self) -> MarketClock:
        what = "server time"
        body = self._rest.read(what, lambda c: c.get_unix_time())
        if body.get("epochSeconds") not in (None, ""):
            moment = datetime.fromtimestamp(int(dec(body, "epochSeconds", what=what)), tz=timezone.utc)
        else:
            moment = ts(body, "iso", what=what)
        return MarketClock(ts=moment, is_open=True)  # crypto trades around the clock

    def calendar(self, *, start: date, end: date) -> list[TradingDay]:
        days = []
        day = start
        while day <= end:
            opens = datetime.combine(day, time(0), tzinfo=timezone.utc)
            days.append(TradingDay(day=day, open=opens, close=opens + timedelta(days=1)))
            day += timedelta(days=1)
        return days

    def instruments(self, symbols: Sequence[str]) -> dict[str, VenueInstrument]:
        found = {}
        for symbol in symbols:
            product = self._products.get(symbol)
            found[symbol] = VenueInstrument(
                symbol=symbol, asset_class=AssetClass.CRYPTO, tradable=product.tradable,
                price_increment=product.quote_increment, size_increment=product.base_increment,
                min_size=product.base_min_size, fractionable=True, shortable=False)
        return found

    def permissions(self) -> VenuePermissions:
        what = "key permissions"
        body = self._rest.read(what, lambda c: c.get_api_key_permissions())
        can_view, can_trade = body.get("can_view"), body.get("can_trade")
        if not isinstance(can_view, bool) or not isinstance(can_trade, bool):
            raise MalformedResponse(f"{VENUE}: {what}: missing field 'can_view' or 'can_trade'")
        detail = f"portfolio {body.get('portfolio_uuid') or '?'} ({body.get('portfolio_type') or '?'})"
        return VenuePermissions(can_read=can_view, can_trade=can_trade, detail=detail)
