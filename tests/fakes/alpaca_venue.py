"""A loopback fake of Alpaca (trading REST, market data REST, both websockets) for driving
the REAL alpaca-py SDK in tests. Never reaches a real host.

    with FakeAlpaca() as venue:
        built = build_alpaca_venue(**venue.connection(), clock=SystemClock(), retry_wait=0.01, ...)
        venue.set_price("AAPL", "190.00")            # market orders fill at it
        venue.rate_limit_next(times=1, reset_in=1)   # next POST /v2/orders answers 429
        venue.fail_after_create(status=500)          # creates the order, then answers 500
        venue.slow_after_create(seconds=1.0)         # creates, answers after the client timeout
        venue.malformed_next()                       # creates, answers a body that is not JSON
        venue.delay_next(method="GET", path="/v2/stocks/bars", seconds=0.3)   # answers late
        venue.reject_next_order("insufficient buying power")   # 403, no order
        venue.drop_streams(); ...; venue.restore_streams()     # websockets down / up
        venue.hold_cancels(); ...; venue.finish_cancel(coid)   # a DELETE leaves it pending_cancel
        venue.hold_trade_updates(); ...; venue.release_trade_updates()   # the stream lags REST
        venue.next_order_status("pending_review")    # the next POST's order starts so
        venue.set_status(coid, "suspended")          # any status, told on the stream
        venue.charge_commission(per_share="0.005")   # commission on every execution
        venue.charge_fee("0.02", "TAF fee", symbol="AAPL", client_order_id=coid)  # a FEE activity
        venue.bust(coid, cum_qty="1"); venue.restate(coid, cum_qty="1", price="9.99")  # trade_bust / restated
        venue.data_stream.push_bar(symbol="AAPL", ts=..., open=..., ...)
        venue.clock_fields = {..., "is_open": False}  # equity orders are taken, queued till it opens
        venue.count("POST", "/v2/orders")            # every request is recorded

Auth: APCA-API-KEY-ID / APCA-API-SECRET-KEY headers; wrong keys -> 401 like Alpaca.
While the clock says the market is closed, equity orders are accepted and queued, never
matched (Alpaca's "orders submitted outside of eligible trading hours will be queued and
eligible for execution at the time of the next market open"): the first price set once the
clock says open again fills them. Crypto trades around the clock.
`FakeAlpaca(live=True)` is the live endpoint: its own live key (LIVE_API_KEY), a live account
number, and 401 for every other key, a paper key included, as api.alpaca.markets answers one.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from http.server import ThreadingHTTPServer

import attrs

from tests.fakes.alpaca_book import FakeOrder, OrderBook, iso, number
from tests.fakes.alpaca_http import RecordedRequest, handler_for
from tests.fakes.alpaca_streams import DataStreamServer, TradingStreamServer

API_KEY = "PKTESTKEY"
SECRET_KEY = "test-secret"
LIVE_API_KEY = "AKTESTLIVEKEY"
LIVE_SECRET_KEY = "test-live-secret"
UNAUTHORIZED = {"code": 40110000, "message": "request is not authorized"}
DUPLICATE = {"code": 40010001, "message": "client_order_id must be unique"}


@attrs.define
class Fault:
    method: str
    path: str
    kind: str  # rate_limit, error, error_after_create, slow_after_create, malformed, reject, delay
    times: int = 1
    status: int = 500
    seconds: float = 0.0
    message: str = ""
    reset_in: float = 1.0
    created: bool = True


def _asset(symbol: str, *, fractionable: bool = True, shortable: bool = True, tradable: bool = True) -> dict:
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)), "class": "us_equity", "exchange": "NASDAQ",
            "symbol": symbol, "name": f"{symbol} Inc.", "status": "active", "tradable": tradable,
            "marginable": True, "shortable": shortable, "easy_to_borrow": shortable, "fractionable": fractionable,
            "maintenance_margin_requirement": 30, "attributes": []}


class _TradingHoursBook(OrderBook):
    """The order book, matching equity orders only while the venue's clock says open."""

    def __init__(self, *, is_open: Callable[[], bool], is_crypto: Callable[[str], bool], **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self._is_open = is_open
        self._is_crypto = is_crypto

    def match(self, order: FakeOrder) -> None:
        if self._is_crypto(order.symbol) or self._is_open():
            super().match(order)


class FakeAlpaca:
    def __init__(self, *, api_key: str | None = None, secret_key: str | None = None, live: bool = False) -> None:
        self.live = live
        self.api_key = api_key or (LIVE_API_KEY if live else API_KEY)
        self.secret_key = secret_key or (LIVE_SECRET_KEY if live else SECRET_KEY)
        self.trading_stream = TradingStreamServer(authorized=self._authorized)
        self.data_stream = DataStreamServer(authorized=self._authorized)
        self.book = _TradingHoursBook(now=lambda: datetime.now(timezone.utc), notify=self.trading_stream.push,
                                      is_open=lambda: bool(self.clock_fields.get("is_open")),
                                      is_crypto=lambda s: self.assets.get(s, {}).get("class") == "crypto")
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.assets = {s: _asset(s) for s in ("AAPL", "SPY", "MSFT")}
        self.assets["GME"] = _asset("GME", fractionable=False, shortable=False)
        self.assets["BTC/USD"] = _asset("BTC/USD", shortable=False) | {
            "class": "crypto", "exchange": "CRYPTO", "marginable": False, "min_order_size": "0.0001",
            "min_trade_increment": "0.000000001", "price_increment": "1"}
        self.account_fields: dict = {}
        self.clock_fields = {"timestamp": "2024-03-05T10:15:00.123456789-05:00", "is_open": True,
                             "next_open": "2024-03-06T09:30:00-05:00", "next_close": "2024-03-05T16:00:00-05:00"}
        self.early_closes: dict[date, str] = {}
        self.holidays: set[date] = set()
        self.bars: dict[str, list[dict]] = {}
        self.bars_page_size = 10_000
        self._lock = threading.Lock()
        self._next_statuses: list[str] = []
        self._http: ThreadingHTTPServer | None = None

    # --- lifecycle --------------------------------------------------------------------

    def __enter__(self) -> FakeAlpaca:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(self))
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05},
                         name="fake-alpaca-http", daemon=True).start()
        self.trading_stream.start()
        self.data_stream.start()

    def stop(self) -> None:
        self.trading_stream.stop()
        self.data_stream.stop()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()

    @property
    def url(self) -> str:
        assert self._http is not None, "start the fake first"
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def connection(self) -> dict:
        """The build_alpaca_venue keyword arguments that point at this fake."""
        return {"api_key": self.api_key, "secret_key": self.secret_key, "paper": not self.live, "trading_url": self.url,
                "data_url": self.url, "trading_stream_url": self.trading_stream.url,
                "data_stream_url": self.data_stream.url}

    # --- scripting --------------------------------------------------------------------

    def set_price(self, symbol: str, price: Decimal | str) -> None:
        self.book.set_price(symbol, Decimal(str(price)))

    def order(self, client_order_id: str) -> FakeOrder:
        return self.book.by_client_id[client_order_id]

    def fill(self, client_order_id: str, qty: Decimal | str, price: Decimal | str) -> dict:
        """A (partial) execution of a resting order, told on the trading stream."""
        return self.book.execute(self.order(client_order_id), Decimal(str(qty)), Decimal(str(price)))

    def cancel(self, client_order_id: str) -> None:
        self.book.cancel(self.order(client_order_id))

    def expire(self, client_order_id: str) -> None:
        self.book.expire(self.order(client_order_id))

    def hold_cancels(self, hold: bool = True) -> None:
        """Cancels asked over REST stay pending_cancel (the order may still fill) until
        finish_cancel; as Alpaca, where a cancel is a request the market answers later."""
        self.book.hold_cancels = hold

    def finish_cancel(self, client_order_id: str) -> None:
        """The venue ends a pending cancel: canceled, with whatever filled meanwhile."""
        self.book.cancel(self.order(client_order_id))

    def fill_before_cancel(self, client_order_id: str, qty: Decimal | str, price: Decimal | str) -> None:
        """When the next DELETE of this order arrives, the venue executes `qty` first (the
        execution was on its way), then cancels what is left."""
        with self.book.lock:
            self.book.fills_on_cancel[client_order_id] = (Decimal(str(qty)), Decimal(str(price)))

    def hold_activities(self) -> None:
        """New FILL activities are not listed yet (the order's filled_qty already shows them)."""
        with self.book.lock:
            if self.book.held_activities is None:
                self.book.held_activities = []

    def release_activities(self) -> None:
        with self.book.lock:
            held, self.book.held_activities = self.book.held_activities or [], None
            self.book.activities.extend(held)

    def hold_trade_updates(self) -> None:
        """Trade updates wait (REST already shows the change) until release_trade_updates:
        the two are separate channels at Alpaca."""
        self.trading_stream.hold()

    def release_trade_updates(self) -> int:
        return self.trading_stream.release()

    def next_order_status(self, status: str) -> None:
        """The next order POSTed is created in `status` (pending_review, pending_new, ...)."""
        with self._lock:
            self._next_statuses.append(status)

    def take_next_status(self) -> str:
        with self._lock:
            return self._next_statuses.pop(0) if self._next_statuses else "accepted"

    def set_status(self, client_order_id: str, status: str, *, event: str | None = None) -> None:
        self.book.set_status(self.order(client_order_id), status, event=event)

    def charge_fee(self, amount: Decimal | str, description: str, *, symbol: str | None = None,
                   client_order_id: str | None = None, status: str = "executed") -> dict:
        order = None if client_order_id is None else self.order(client_order_id)
        return self.book.charge_fee(amount=Decimal(str(amount)), description=description, symbol=symbol, order=order,
                                    status=status)

    def bust(self, client_order_id: str, *, cum_qty: Decimal | str) -> None:
        """Bust the execution of the order that brought its filled quantity to `cum_qty`."""
        self.book.bust(self.order(client_order_id), Decimal(str(cum_qty)))

    def restate(self, client_order_id: str, *, cum_qty: Decimal | str, price: Decimal | str) -> None:
        self.book.restate(self.order(client_order_id), Decimal(str(cum_qty)), Decimal(str(price)))

    def charge_commission(self, *, per_share: Decimal | str) -> None:
        self.book.commission_per_share = Decimal(str(per_share))

    def add_foreign_order(self, *, symbol: str, side: str = "buy", qty: str = "1", type: str = "limit",
                          limit_price: str | None = "1.00", client_order_id: str | None = None) -> FakeOrder:
        """An order the bot never placed (made on the venue's website, another program...)."""
        return self.book.create(client_order_id=client_order_id or f"web-{uuid.uuid4()}", symbol=symbol,
                                side=side, qty=Decimal(qty), type=type, time_in_force="day",
                                limit_price=None if limit_price is None else Decimal(limit_price))

    def set_position(self, symbol: str, qty: Decimal | str, avg_entry_price: Decimal | str) -> None:
        with self.book.lock:
            self.book.positions[symbol] = (Decimal(str(qty)), Decimal(str(avg_entry_price)))

    def _fault(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def rate_limit_next(self, *, times: int = 1, reset_in: float = 1.0, method: str = "POST",
                        path: str = "/v2/orders") -> None:
        """The next `times` requests answer 429 with X-RateLimit-Reset = now + reset_in (unix s)."""
        self._fault(Fault(method=method, path=path, kind="rate_limit", times=times, reset_in=reset_in))

    def fail_after_create(self, *, status: int = 500, times: int = 1) -> None:
        self._fault(Fault(method="POST", path="/v2/orders", kind="error_after_create", times=times, status=status))

    def fail_next(self, *, method: str, path: str, status: int = 503, times: int = 1) -> None:
        """The next `times` requests to path answer `status` (nothing done)."""
        self._fault(Fault(method=method, path=path, kind="error", times=times, status=status))

    def delay_next(self, *, method: str, path: str, seconds: float, times: int = 1) -> None:
        """The next `times` requests to path are answered as usual, `seconds` late."""
        self._fault(Fault(method=method, path=path, kind="delay", times=times, seconds=seconds))

    def slow_after_create(self, *, seconds: float, times: int = 1) -> None:
        self._fault(Fault(method="POST", path="/v2/orders", kind="slow_after_create", times=times, seconds=seconds))

    def malformed_next(self, *, method: str = "POST", path: str = "/v2/orders", times: int = 1) -> None:
        """Answer 200 with a body that is not JSON (for POST /v2/orders: after creating the order)."""
        self._fault(Fault(method=method, path=path, kind="malformed", times=times))

    def reject_next_order(self, message: str = "insufficient buying power", *, status: int = 403) -> None:
        self._fault(Fault(method="POST", path="/v2/orders", kind="reject", status=status, message=message))

    def drop_streams(self) -> None:
        self.trading_stream.drop()
        self.data_stream.drop()

    def restore_streams(self) -> None:
        self.trading_stream.restore()
        self.data_stream.restore()

    def add_bars(self, symbol: str, rows: list[tuple]) -> None:
        """(ts, open, high, low, close, volume) rows; ts is the bar's open time."""
        self.bars.setdefault(symbol, []).extend(
            {"t": iso(ts), "o": float(o), "h": float(h), "l": float(lo), "c": float(c), "v": int(v), "n": 1,
             "vw": float(c)} for ts, o, h, lo, c, v in rows)
        self.bars[symbol].sort(key=lambda b: b["t"])

    # --- records ----------------------------------------------------------------------

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method and r.path == path)

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path == path]

    # --- internals --------------------------------------------------------------------

    def _authorized(self, key: str, secret: str) -> bool:
        return key == self.api_key and secret == self.secret_key

    def take_fault(self, method: str, path: str, kinds: tuple[str, ...]) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.method == method and fault.path == path and fault.kind in kinds:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def account_json(self) -> dict:
        with self.book.lock:
            cash = self.book.cash
            market = sum((q * self.book.prices.get(s, a) for s, (q, a) in self.book.positions.items()), Decimal(0))
        fields = {
            "id": "e6fe16f3-64a4-4921-8928-cadf02f92f98", "account_number": "3TESTLIVE" if self.live else "PA3TESTACCT",
            "status": "ACTIVE",
            "crypto_status": "ACTIVE", "currency": "USD", "cash": number(cash), "portfolio_value": number(cash + market),
            "equity": number(cash + market), "last_equity": number(cash + market),
            "buying_power": number(2 * (cash + market)), "regt_buying_power": number(2 * (cash + market)),
            "daytrading_buying_power": number(4 * (cash + market)), "non_marginable_buying_power": number(cash),
            "initial_margin": "0", "maintenance_margin": "0", "sma": "0", "daytrade_count": 0,
            "pattern_day_trader": False, "trading_blocked": False, "transfers_blocked": False,
            "account_blocked": False, "trade_suspended_by_user": False, "shorting_enabled": True,
            "multiplier": "2", "created_at": "2024-01-02T15:00:00Z",
        }
        return fields | self.account_fields

    def calendar_json(self, start: date, end: date) -> list[dict]:
        days, day = [], start
        while day <= end:
            if day.weekday() < 5 and day not in self.holidays:
                days.append({"date": day.isoformat(), "open": "09:30", "close": self.early_closes.get(day, "16:00"),
                             "session_open": "0400", "session_close": "2000",
                             "settlement_date": (day + timedelta(days=1)).isoformat()})
            day += timedelta(days=1)
        return days

