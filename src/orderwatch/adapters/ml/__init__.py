"""Delay and delivery-date models (D2): features from the shop's history, training, scoring.

pandas and scikit-learn live only here; the domain keeps the pure parts (reason wording,
promise arithmetic) and ``services.ports`` the ports these modules implement.
"""
