"""Analytics: pure functions over series (spikes, trailing windows, terms); no SQL."""
