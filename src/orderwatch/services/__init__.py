"""Use cases: each public function is one transaction through a unit of work (STYLE.md)."""
