"""The staff console: the clinic's side of the assistant (handoffs and urgent records, accounts, the audit log).

A server of its own (``python -m bot.console.server``, port ``CONSOLE_PORT``, loopback unless
``CONSOLE_HOST`` says otherwise), server-rendered (Jinja2 templates in ``templates/``, a little
vanilla JavaScript and CSS in ``static/``), under the same Content-Security-Policy discipline as
the chat page. Its tables live in the handoff database.

Adding a page: a module with ``pages = Pages()`` and handlers declared with
``@pages.get(path, Permission.X, nav="Label")`` / ``@pages.post(path, Permission.X)`` (login,
role check and CSRF check come with the declaration), a template that extends ``base.html``,
a permission in ``roles.py`` granted to the roles that may use it, and the module in
``app.FEATURES``.
"""
