"""Adapters of the service layer: settings, DDL, recorders, transcodings, blob and idempotency stores, the clock."""
