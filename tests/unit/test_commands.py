from bot.domain import commands


def test_empty_text_means_help():
    assert commands.parse("").subcommand.name == "help"
    assert commands.parse("   ").subcommand.name == "help"


def test_subcommand_and_arguments_are_split_like_a_shell():
    parsed = commands.parse('language "fa"')
    assert parsed.subcommand.name == "language"
    assert parsed.args == ("fa",)


def test_case_does_not_matter():
    assert commands.parse("SETUP").subcommand.name == "setup"


def test_a_typo_gets_a_suggestion():
    parsed = commands.parse("stup")
    assert parsed.subcommand is None
    assert parsed.typed == "stup"
    assert parsed.suggestion == "setup"


def test_nonsense_gets_no_suggestion():
    parsed = commands.parse("xyzzy")
    assert parsed.subcommand is None
    assert parsed.suggestion is None


def test_an_unbalanced_quote_is_tolerated():
    parsed = commands.parse('language "fa')
    assert parsed.subcommand.name == "language"


def test_admin_only_subcommands_are_hidden_from_members():
    member_names = {s.name for s in commands.available_to(is_admin=False)}
    admin_names = {s.name for s in commands.available_to(is_admin=True)}
    assert "setup" not in member_names
    assert "setup" in admin_names
    assert member_names < admin_names
