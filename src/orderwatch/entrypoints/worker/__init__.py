"""The background worker (``orderwatch worker``): scheduled jobs, outbox planning, message sending.

``jobs.py`` is the registry other areas add their periodic jobs to; ``channels.py`` wires the
senders and rules from settings; ``runner.py`` is the loop with its graceful stop.
"""
