"""The scheduler (APScheduler jobs) and outbound delivery through the outbox to the WeChat API."""
