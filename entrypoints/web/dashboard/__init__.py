"""The admin dashboard: server-rendered pages (Jinja) under /dashboard on the same Litestar
app as the API, live through server-sent events, logged in by an HttpOnly cookie.

router.py assembles it for app.py; the other modules are one concern each (assets,
session cookies and CSRF, read models, pages, the kill switch, the event stream, errors).
"""
