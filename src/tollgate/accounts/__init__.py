"""Accounts: the operator's customers, each holding credit in one wallet unit.

An account is the tenant boundary: every per-account row in every table carries its
``account_id`` and every per-account query filters by it.
"""
