"""Entry points: HTTP API, web pages, command line and worker. They parse, call one service, render."""
