"""Usage: the hot path that joins rating and the ledger.

An event (a call, an SMS, an e-mail, a template message, an agent login) is rated
with the price list version in force when it happened, then paid: allowance lots
first (plan minutes pay voice seconds), then money credit from the list's
allocation or the pool. Each event is recorded once per (account, id): a replay
answers the first answer and charges nothing. An account that cannot pay is
refused (402) — or, for an event that already happened and says ``allow_debt``,
charged into debt and blocked until credit arrives.

Calls use online charging: an authorization reserves a slice of call time, can be
extended slice by slice, and is captured with the real duration when the call ends.
"""
