"""The web app and JSON API: screens for workers, managers and supervisors on the same
durable workflows, and an API that mirrors every action for partner systems."""
