"""frontdoor: a children's services front door on durable Temporal workflows.

The Python packages at the top level of the repository (``models``, ``workflows``,
``activities``) hold the domain; this package holds what runs them: configuration,
the Temporal client, the CLI, the embedded stack launcher and the web app.
"""
