"""The 五个一 duties from the chat: the guided `登记`, `发卡`, `宣传` (`宣传 全部`), `承诺`, their `撤销`, and `改 调解`.

Only a bound cadre reaches these routes, and only for the households linked to them: a name or card number
of another cadre's household is refused by name, never changed. Every change is a ``DutyRecord`` holding the
state before it (``previous``), so `撤销` within 10 minutes restores exactly that.

``form`` the guided 登记 (explicit state with a timeout), ``marks`` 发卡/宣传/承诺, ``role_change`` 改,
``undo`` 撤销 (shared with the diary: the most recent action wins), ``parsers`` reading the form's answers,
``shared`` finding the cadre's households. Each exports its router; handlers.routing puts them in order.
"""
