"""Domain types: the data that crosses workflow, activity, API and database boundaries."""
