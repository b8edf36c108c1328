"""The Discord side every feature shares: the base view (`base.py`), the error funnel (`errors.py`),
replies (`reply.py`), confirmations, the commands' `group` option, who is acting (`context.py`). A
feature's own buttons live in its package (bot/requests/views.py, bot/links/views.py)."""
