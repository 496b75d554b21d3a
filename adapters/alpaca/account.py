"""The VenueAccount port on Alpaca: account figures, the market clock and calendar, assets
and what the key may do."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timezone
from decimal import Decimal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from alpaca.trading.client import TradingClient

from adapters.alpaca.errors import VENUE, MalformedResponse, VenueRefused
from adapters.alpaca.http import ReadPolicy
from adapters.alpaca.mapping import is_crypto_symbol
from adapters.alpaca.schemas import Payload, payload_list
from application.venues.ports import AccountSnapshot, MarketClock, TradingDay, VenueInstrument, VenuePermissions
from domain.accounting.instrument import AssetClass
from domain.errors import ConfigurationError

NEW_YORK = ZoneInfo("America/New_York")  # the calendar's times are the exchange's wall clock
_CENT = Decimal("0.01")
_FRACTIONAL_STEP = Decimal("0.000000001")  # Alpaca takes fractional share quantities to 9 decimals


class AlpacaAccount:
    name = VENUE

    def __init__(self, *, client: TradingClient, reads: ReadPolicy) -> None:
        self._client = client
        self._reads = reads

    def account(self) -> AccountSnapshot:
        return self._reads.read("account", lambda: _snapshot(self._client.get_account()))

    def clock(self) -> MarketClock:
        def read() -> MarketClock:
            p = Payload(self._client.get_clock(), call="clock", what="clock")
            return MarketClock(ts=p.datetime("timestamp"), is_open=p.bool("is_open"),
                               next_open=p.optional_datetime("next_open"),
                               next_close=p.optional_datetime("next_close"))
        return self._reads.read("clock", read)

    def calendar(self, *, start: date, end: date) -> list[TradingDay]:
        params = {"start": start.isoformat(), "end": end.isoformat()}
        return self._reads.read("calendar", lambda: [
            _trading_day(p) for p in payload_list(self._client.get("/calendar", params), call="calendar",
                                                   what="calendar day")])

    def instruments(self, symbols: Sequence[str]) -> dict[str, VenueInstrument]:
        return {symbol: self._instrument(symbol) for symbol in symbols}

    def permissions(self) -> VenuePermissions:
        try:
            snapshot = self.account()
        except ConfigurationError as error:
            return VenuePermissions(can_read=False, can_trade=False, detail=str(error))
        reasons = _blocks(snapshot)
        return VenuePermissions(can_read=True, can_trade=not reasons,
                                detail="; ".join(reasons) if reasons else "account active, trading allowed")

    def _instrument(self, symbol: str) -> VenueInstrument:
        try:
            raw = self._reads.read("assets", lambda: self._client.get(f"/assets/{quote(symbol, safe='')}"))
        except VenueRefused as error:
            if error.not_found or error.status == 422:
                raise ConfigurationError(f"{VENUE}: unknown symbol {symbol!r} (the venue lists no such asset)") from error
            raise
        p = Payload(raw, call="assets", what="asset")
        crypto = p.optional_str("class") == "crypto" or is_crypto_symbol(symbol)
        fractionable = p.bool("fractionable", default=False)
        price_increment = p.optional_decimal("price_increment") or _CENT
        size_increment = p.optional_decimal("min_trade_increment") or (
            _FRACTIONAL_STEP if fractionable else Decimal(1))
        return VenueInstrument(
            symbol=p.str("symbol"), asset_class=AssetClass.CRYPTO if crypto else AssetClass.EQUITY,
            tradable=p.bool("tradable") and p.optional_str("status") in (None, "active"),
            price_increment=price_increment, size_increment=size_increment,
            min_size=p.optional_decimal("min_order_size") or size_increment,
            fractionable=fractionable, shortable=p.bool("shortable", default=False),
        )


def _snapshot(raw: object) -> AccountSnapshot:
    p = Payload(raw, call="account", what="account")
    blocked = any(p.bool(flag, default=False)
                  for flag in ("trading_blocked", "account_blocked", "trade_suspended_by_user"))
    return AccountSnapshot(
        venue=VENUE, account_id=p.str("id"), status=p.str("status"), currency=p.optional_str("currency") or "USD",
        cash=p.decimal("cash"), equity=p.decimal("equity"), buying_power=p.decimal("buying_power"),
        daytrading_buying_power=p.optional_decimal("daytrading_buying_power"),
        initial_margin=p.optional_decimal("initial_margin"),
        maintenance_margin=p.optional_decimal("maintenance_margin"),
        trading_blocked=blocked, balances={p.optional_str("currency") or "USD": p.decimal("cash")},
    )


def _blocks(snapshot: AccountSnapshot) -> list[str]:
    reasons = []
    if snapshot.status.upper() != "ACTIVE":
        reasons.append(f"account status is {snapshot.status}")
    if snapshot.trading_blocked:
        reasons.append("trading is blocked on the account (trading_blocked / account_blocked / suspended)")
    return reasons


def _wall_clock(p: Payload, name: str) -> time:
    text = p.str(name)
    try:
        return time.fromisoformat(text if ":" in text else f"{text[:2]}:{text[2:]}")
    except ValueError:
        raise MalformedResponse(f"{VENUE} calendar: field {name!r} of the calendar day is {text!r}") from None


def _trading_day(p: Payload) -> TradingDay:
    day = p.date("date")
    def at(name: str) -> datetime:
        return datetime.combine(day, _wall_clock(p, name), tzinfo=NEW_YORK).astimezone(timezone.utc)

    return TradingDay(day=day, open=at("open"), close=at("close"))
