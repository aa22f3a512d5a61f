"""What the gateway and the consumers share: the envelope contract, broker names, settings and logs."""
