"""Every user-facing message and view: Jinja2 templates rendering Block Kit JSON.

Strings are marked with `_()` and translated through `locales/<language>.po`.
"""
