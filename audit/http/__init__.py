"""The HTTP edge: FrappeClient, FrappeReply, the rate limiter. The only place that talks HTTP."""
