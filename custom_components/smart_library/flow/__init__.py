"""The config flow's parts: forms, checks, discovery, repair issues, the options and branch flows."""
