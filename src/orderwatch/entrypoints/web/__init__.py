"""The staff web app (D1, D13, U11): server-rendered Jinja2 pages with HTMX, bilingual zh-CN/en.

``routes/`` holds one router per area, made by ``routing.web_router`` (CSRF on every unsafe
request, web errors rendered as pages); ``security`` has sessions, permissions and the login
throttle; ``rendering`` the per-language template environments; ``choices`` every status label
and colour; ``static/app.css`` the stylesheet. htmx is served from ``settings.assets_dir``
(installed by npm at set-up, never committed).
"""
