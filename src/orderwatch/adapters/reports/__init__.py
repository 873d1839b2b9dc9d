"""Documents rendered from stored data: the post-incident report as PDF (U8, U9)."""
