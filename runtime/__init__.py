"""What every service runs on, written once: settings, logging, broker, outbox, inbox, web, processes."""
