"""Access: who may call the API, and what each caller may see and change.

Two kinds of caller carry ``Authorization: Bearer <key>``:

* the **operator**, with a key from ``TOLLGATE_OPERATOR_KEY`` (never stored in the
  database): full access to every account and to the operator's configuration;
* an **account key**, created by the operator or by the account itself through
  ``POST /v1/accounts/{id}/api-keys``. It belongs to one account, sees and changes
  only that account, and holds a set of **rights** (SPEC §1): ``admin`` (every
  right), ``consumption.view``, ``credit.buy``, ``sms.send``, ``numbers.manage``,
  ``users.manage``.

An account key's secret is shown once, when it is created. Only its SHA-256 hash is
stored: the secret has 256 random bits, so a plain hash is enough to make a stolen
table useless, and looking a key up by its hash compares nothing secret in variable
time. A revoked key stops working at once.

A key that manages users (``users.manage``) may create and revoke keys, but only
keys whose rights it holds itself; only ``admin`` grants ``admin``. So no key can
make a key more powerful than itself.
"""
