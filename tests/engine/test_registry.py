import pytest

from diagnostics.engine.registry import Registry


@pytest.fixture
def colours():
    colours = Registry("colour")

    @colours.register("red")
    def red(shade=1):
        return ("red", shade)

    colours.register("blue")(lambda shade=1: ("blue", shade))
    return colours


def test_names_are_listed_sorted(colours):
    assert colours.names() == ["blue", "red"]
    assert "red" in colours and "green" not in colours


def test_create_calls_the_factory_with_its_arguments(colours):
    assert colours.create("red", shade=2) == ("red", 2)


def test_an_unknown_name_is_refused_with_the_registered_ones(colours):
    with pytest.raises(KeyError, match="Unknown colour 'green'; available: blue, red"):
        colours.create("green")


def test_a_name_is_registered_once(colours):
    with pytest.raises(ValueError, match="Colour 'red' is already registered"):
        colours.register("red")(lambda: None)


def test_the_decorator_returns_the_factory_unchanged():
    registry = Registry("thing")

    def factory():
        return 1

    assert registry.register("one")(factory) is factory
