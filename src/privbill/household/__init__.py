"""The household side as running programs: the meter link, the home agent and delegates.

* :mod:`~privbill.household.hpke` — the agent's X25519 key and HPKE (RFC 9180) sealing of
  openings, domain-separated per meter and message.
* :mod:`~privbill.household.link` — the messages a meter publishes over MQTT (readings with
  encrypted openings, sealed runs, its head) and the agent's re-send requests, each canonical
  CBOR signed by the meter.
* :mod:`~privbill.household.sources` — what a meter measures: a readings CSV, a Green Button
  file or the synthetic household load, paced in real time or accelerated.
* :mod:`~privbill.household.meterlink` — ``privbill meter run``: commit, seal, persist, publish.
* :mod:`~privbill.household.store` — one household's SQLite store (readings, openings, seals,
  bills, receipts, disclosures, the disclosure ledger) and its Python API.
* :mod:`~privbill.household.policy` — the household's consent policy (TOML).
* :mod:`~privbill.household.agent` — ``privbill agent run``: check and keep every message, bill
  each period, submit, fetch receipts, answer consented disclosures.
* :mod:`~privbill.household.home` — an agent's home directory: its key, configuration and the
  households it serves (one on a customer's device, many for a delegate); export and import.
* :mod:`~privbill.household.web` — ``privbill agent web`` (or ``agent run --web``): the
  household's own page on 127.0.0.1 — the bill explained, plots, what the provider received,
  downloads, Allow / Refuse on the requests that wait for the person.
* :mod:`~privbill.household.live` — ``privbill demo --live``: meter, agent and provider service
  started together.
"""
