"""OrderWatch: keep late and undelivered e-commerce orders under control."""

__version__ = "0.1.0"
