"""The web surface: the registration page (Dash), its callback, and the HTTP routes."""
