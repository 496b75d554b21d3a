// The dashboard's own script (CSP script-src 'self': no inline script anywhere).
// htmx does the requests and the live swaps; this file does what htmx does not:
// the live-state badge, closing the dialog, and the uPlot charts of a bot's page.
(function () {
  "use strict";

  function liveState(text, state) {
    var badge = document.querySelector("[data-live-state]");
    if (badge) {
      badge.textContent = text;
      badge.dataset.state = state;
    }
  }

  // A stream ends every few seconds by design (the server can then shut down) and the browser
  // reconnects by itself. That reconnect fires "error", which the SSE extension would log as
  // htmx:sseError; only an error that leaves the source CLOSED is passed on to it.
  if (window.htmx && window.EventSource) {
    class QuietEventSource extends EventSource {
      constructor(url, options) {
        super(url, options);
        this.addEventListener("open", function () { liveState("live", "live"); });
        this.addEventListener("error", function () { liveState("reconnecting…", "connecting"); });
      }
      set onerror(handler) {
        var source = this;
        super.onerror = function (event) {
          if (source.readyState !== EventSource.CONNECTING) {
            handler.call(source, event);
          }
        };
      }
      get onerror() {
        return super.onerror;
      }
    }
    window.htmx.createEventSource = function (url) {
      return new QuietEventSource(url, { withCredentials: true });
    };
  }

  document.addEventListener("htmx:sseClose", function () { liveState("offline", "offline"); });

  // --- the dialog (confirmations, results): Cancel / Close / Escape empty it -------------
  function closeDialog() {
    var dialog = document.getElementById("dialog");
    if (dialog) {
      dialog.replaceChildren();
    }
  }

  document.addEventListener("click", function (event) {
    if (!(event.target instanceof Element)) {
      return;
    }
    var closer = event.target.closest("[data-dialog-close]");
    // A click on a closer inside the dialog, or on the shade around it.
    if ((closer && closer.closest("#dialog")) || event.target.id === "dialog") {
      event.preventDefault();
      closeDialog();
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      closeDialog();
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "dialog") {
      var reason = event.target.querySelector("textarea[name=reason]");
      if (reason) {
        reason.focus();
      }
    }
  });

  // --- charts: equity and drawdown of one bot, from its equity.json ----------------------
  var SERIES = {
    equity: { label: "Equity", stroke: "#2563eb", width: 1.5, digits: 2 },
    drawdown: { label: "Drawdown %", stroke: "#dc2626", fill: "rgba(220, 38, 38, 0.12)", width: 1, digits: 2 },
  };
  var plots = [];
  var lastRefresh = 0;

  function makePlot(box, data) {
    var spec = SERIES[box.dataset.chart];
    var options = {
      width: Math.max(box.clientWidth, 200),
      height: box.clientWidth < 500 ? 180 : 240,
      scales: { x: { time: true } },
      axes: [{}, { size: 64 }],
      series: [{}, {
        label: spec.label, stroke: spec.stroke, width: spec.width, fill: spec.fill,
        value: function (u, v) { return v == null ? "–" : v.toFixed(spec.digits); },
      }],
    };
    box.replaceChildren();
    var plot = new window.uPlot(options, [data.t, data[box.dataset.chart]], box);
    new ResizeObserver(function () {
      plot.setSize({ width: Math.max(box.clientWidth, 200), height: options.height });
    }).observe(box);
    plots.push({ box: box, plot: plot });
  }

  function loadCharts() {
    var boxes = Array.prototype.slice.call(document.querySelectorAll(".chart[data-src]"));
    if (!boxes.length || !window.uPlot) {
      return;
    }
    lastRefresh = Date.now();
    fetch(boxes[0].dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("chart data: HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        boxes.forEach(function (box) {
          var known = plots.find(function (p) { return p.box === box; });
          if (!data.t.length) {
            box.textContent = "No equity recorded yet.";
          } else if (known) {
            known.plot.setData([data.t, data[box.dataset.chart]]);
          } else {
            makePlot(box, data);
          }
        });
      })
      .catch(function () {
        // A lost session or a restarting server: the charts keep what they show; the next refresh retries.
      });
  }

  document.addEventListener("DOMContentLoaded", loadCharts);
  // The bot's summary is re-sent when anything about it changes: redraw, at most every 5 s.
  document.addEventListener("htmx:sseMessage", function (event) {
    if (event.target && event.target.id === "bot" && Date.now() - lastRefresh > 5000) {
      loadCharts();
    }
  });
})();
