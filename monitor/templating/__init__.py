"""Alert text: the Jinja environment, console links and a rule's title template (``jinja``, ``console``,
``titles``), shared by the engine and notify; it imports neither."""
