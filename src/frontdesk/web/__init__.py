"""The staff dashboard: server-rendered pages (Jinja2) with htmx, behind a session login.

Layout: ``mount.py`` attaches everything to the app; ``auth.py`` (session, roles, CSRF
dependencies); ``templating.py`` (one Jinja2 environment, page and fragment rendering);
``nav.py`` (the navigation registry); ``pages/`` (one route module per page, each with its
templates under ``templates/<page>/``); ``static/`` (CSS and the vendored htmx).
"""
