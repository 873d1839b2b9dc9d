"""The staff web app: server-rendered Jinja2 pages with HTMX, bilingual zh-CN/en."""
