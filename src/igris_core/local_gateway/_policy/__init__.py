"""What a request must pass before a backend sees it: the key check, deny rules, rate limits, and
the faults injected per connection."""
