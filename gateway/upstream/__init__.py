"""The upstream client: its policy (deadline, retries, breaker, allow-list), the transports that carry
the bytes, and streamed media. May import only the bottom layer."""
