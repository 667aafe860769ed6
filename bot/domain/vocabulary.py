"""The words every layer shares: the two departments, the groups results are shown for, the languages."""

SALES, MARKETING, EVERYONE = "sales", "marketing", "everyone"
#: The two teams a person can answer for.
DEPARTMENTS = (SALES, MARKETING)
#: The groups a figure is shown for: each department, and the company as a whole.
GROUPS = (SALES, MARKETING, EVERYONE)
#: Every language a person can read the bot in.
SUPPORTED_LANGUAGES = ("en", "fa")
