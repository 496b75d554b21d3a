"""Report writers: backtest results as a self-contained HTML file and CSV trade lists."""
